"""Stand-in for ansible-test's get-pip bootstrap script (its download host is unreachable here).

ansible-test runs this file with the pip options and packages it wants installed. We install pip with
the interpreter's own ensurepip, then hand the same request to that pip, trusting the system CA bundle.
"""
import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
arguments = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
command = [sys.executable, "-m", "pip", "install"]
if os.path.exists(CA_BUNDLE):
    command += ["--cert", CA_BUNDLE]
sys.exit(subprocess.call(command + arguments))
