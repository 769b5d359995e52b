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
