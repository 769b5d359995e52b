# shellcheck shell=bash
# Sourced by every tool: where the checkout, its virtualenv and its collection path are.
MAILSEC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MAILSEC_ROOT
export MAILSEC_VENV="${MAILSEC_VENV:-$MAILSEC_ROOT/.venv}"
export MAILSEC_BUILD="$MAILSEC_ROOT/.build"
# ansible-playbook, pytest and molecule find the collection through this link to the checkout.
export ANSIBLE_COLLECTIONS_PATH="$MAILSEC_BUILD/collections"
export ANSIBLE_PYTHON_INTERPRETER="$MAILSEC_VENV/bin/python"
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-${CI:+1}}"
export PYTHONPATH="$MAILSEC_BUILD/collections${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$MAILSEC_VENV/bin:$PATH"
# The real-mailcow tier (tests/harness/mailcow.py) runs mailcow's own API from these releases; CI's clone
# has shared/ beside it. An explicit MAILCOW_SOURCE (even empty) wins.
if [[ -z ${MAILCOW_SOURCE+set} && -d $MAILSEC_ROOT/../shared/mailcow ]]; then
  MAILCOW_SOURCE=$(cd "$MAILSEC_ROOT/../shared/mailcow" && pwd)
  export MAILCOW_SOURCE
fi
