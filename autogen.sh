#!/bin/sh
# Generates configure and Makefile.in from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/
autoreconf -fi
