#!/usr/bin/env bash
# The Debian packages the test suite needs and npm cannot install: redis-server and redis-cli (the
# Redis store tests), openssl (throwaway TLS certificates), the Python clients of the interop tests
# (stomp.py, qpid-proton, paho-mqtt, boto3, the aws CLI; Debian's, for /usr/bin/python3), mosquitto_pub/sub,
# chromium (the console test), and Java with ActiveMQ's client jar (the OpenWire probe). Both `npm test` (its pretest step) and .ci/run use this one list.
# Missing packages are installed with apt-get when that is possible here (root, or sudo without a
# password); otherwise it says in one line what is missing and how to install it, and fails.
set -uo pipefail

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
/usr/bin/python3 -c 'import stomp' >/dev/null 2>&1 || missing+=(python3-stomp)
/usr/bin/python3 -c 'import proton' >/dev/null 2>&1 || missing+=(python3-qpid-proton)
/usr/bin/python3 -c 'import paho.mqtt' >/dev/null 2>&1 || missing+=(python3-paho-mqtt)
command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)
command -v aws >/dev/null 2>&1 || missing+=(awscli)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
[ -f /usr/share/java/activemq-client.jar ] || missing+=(libactivemq-java)
[ -f /usr/share/java/slf4j-nop.jar ] || missing+=(libslf4j-java)
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
fi
if [ "$SUDO" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need Debian packages that are missing; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing the test suite's system packages: ${missing[*]}" >&2
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2 || {
  echo "could not install ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
}
