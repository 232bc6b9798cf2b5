#!/usr/bin/env bash
# The product's metrics timed inside an emulated CPU (qemu-system-i386,
# TCG), as root:
#
#   sudo scripts/bench-emulated.sh
#
# Boots the image of `runtimectl image build --boot` (built, and its
# Debian root and kernel cached, by internal/vmtest) once per measurement,
# each from a fresh overlay, and reports:
#   BenchmarkQEMUInstall/R   runtimectl apply of runtime R (and of nginx,
#                            node and python together) beside plain dpkg -i
#                            of the same .debs in another fresh machine, and
#                            the memory in use after the apply;
#   BenchmarkQEMUDeploy      the boot to the first command, the apply of a
#                            deploy of examples/static (with nginx) and of
#                            examples/express onto a machine that has node.
# Times are the guest's clock around each command. Needs qemu-system-x86,
# qemu-utils, debootstrap, e2fsprogs and the Debian mirror of apt's sources.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RUNTIMEKIT_E2E=1 go test -run '^$' -bench 'QEMU' -benchtime 1x -timeout 120m ./internal/vmtest/
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
