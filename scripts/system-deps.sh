#!/usr/bin/env bash
# Installs the Debian packages the site needs when they are missing:
#   --runtime  CJK fonts and Pango for PDF export (make run; best effort)
#   (default)  those plus Chromium for the browser tests and slapd for the LDAP tests (make test)
#   --bench    wrk, the load generator of the benchmarks (make bench; not needed by make test)
set -euo pipefail
packages=()
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
else
# grep without -q reads all input, so pipefail never sees a SIGPIPE'd producer.
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || packages+=(fonts-noto-cjk)
# WeasyPrint (PDF export) typesets with Pango.
ldconfig -p 2>/dev/null | grep "libpangoft2-1.0.so.0" >/dev/null || packages+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ "${1:-}" != "--runtime" ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  # A real OpenLDAP server for the directory-login tests (they start their own on a loopback port;
  # the instance the package may start on port 389 is not used).
  [ -x /usr/sbin/slapd ] || packages+=(slapd)
fi
fi
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
else
  echo "缺少软件包：${packages[*]}" >&2
  echo "请以 root 身份运行：apt-get install -y ${packages[*]}" >&2
  exit 1
fi
