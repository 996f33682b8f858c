#!/usr/bin/env bash
# The text-to-speech engines of benchmarks/align_external.py, from Debian's archive (as root):
# eSpeak NG (main), MBROLA (contrib) and its diphone voices (non-free): German de1-de7, and the
# held-out languages' Dutch nl2 nl3, English en1 us1-us3, French fr1-fr7. Adds the contrib and
# non-free components to the Debian sources when they are missing.
set -euo pipefail
PACKAGES=(espeak-ng mbrola mbrola-de1 mbrola-de2 mbrola-de3 mbrola-de4 mbrola-de5 mbrola-de6 mbrola-de7
  mbrola-nl2 mbrola-nl3 mbrola-en1 mbrola-us1 mbrola-us2 mbrola-us3
  mbrola-fr1 mbrola-fr2 mbrola-fr3 mbrola-fr4 mbrola-fr5 mbrola-fr6 mbrola-fr7)
if dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
  echo "install_tts.sh: already installed: ${PACKAGES[*]}"
  exit 0
fi
sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ] && ! grep -q "non-free" "$sources"; then
  sed -i 's/^Components: main$/Components: main contrib non-free/' "$sources"
elif [ -f /etc/apt/sources.list ] && ! grep -q "non-free" /etc/apt/sources.list; then
  sed -i -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
