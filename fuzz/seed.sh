#!/usr/bin/env bash
# Builds the seed corpora of every fuzz target in fuzz/corpus/<target>/ from tests/fixtures/,
# samples/ and the hostile cases of the hardening tests (UTF-16, lone CRs, a NUL block, bad
# numbers). Run from the repository root: bash fuzz/seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
C=fuzz/corpus
rm -rf "$C"
mkdir -p $C/w3c $C/httperr $C/events $C/dump $C/dump_file $C/ingest $C/perf $C/freb
cp tests/fixtures/freb/*.xml $C/freb/
printf '"(PDH-CSV 4.0) (Eastern Daylight Time)(240)","\\\\WEB01\\Processor(_Total)\\%% Processor Time","\\\\WEB01\\Process(w3wp#1)\\Private Bytes"\r\n"03/01/2024 08:00:15.250","12.5"," "\r\n"03/01/2024 08:00:30.250","97","1.5e9"\r\n' > $C/perf/relog.csv
cp tests/fixtures/logs/lnav/logfile_w3c* tests/fixtures/logs/plaso/*.log $C/w3c/
find tests/fixtures/logs/filebeat/access tests/fixtures/logs/filebeat/w3svc -name '*.log' -exec cp {} $C/w3c/ \;
find samples -name 'u_ex*.log' -exec sh -c 'head -c 20000 "$1" > "$2/sample-$(basename "$1")"' _ {} $C/w3c \;
find tests/fixtures/logs/plaso/httperr tests/fixtures/logs/filebeat/error -type f \
  ! -name '*.json' ! -name '*.expected' -exec cp {} $C/httperr/ \;
find samples -iname 'httperr*.log' -exec sh -c 'head -c 20000 "$1" > "$2/sample-$(basename "$1")"' _ {} $C/httperr \;
# events: the first byte picks the reader (0 XML, 1 JSON lines, 2 evtx)
for f in tests/fixtures/events/*.xml; do (printf '\x00'; cat "$f") > "$C/events/$(basename "$f")"; done
(printf '\x01'; cat tests/fixtures/events/evtx_dump.jsonl) > $C/events/evtx_dump.jsonl
(printf '\x02'; cat tests/fixtures/events/Application_no_crc32.evtx) > $C/events/app.evtx
find samples -name '*.xml' -path '*events*' -exec sh -c '(printf "\0"; head -c 30000 "$1") > "$2/sample-$(basename "$1")"' _ {} $C/events \;
cp tests/fixtures/dumps/*.dmp $C/dump/
find samples -name '*.dmp' -size -200k -exec cp {} $C/dump/ \;
cp $C/dump/* $C/dump_file/
# ingest: the first byte picks the file name (0 u_ex…log, 1 httperr…log, 2 .dmp, 3 .xml)
i=0
for f in $C/w3c/*; do (printf '\x00'; cat "$f") > "$C/ingest/w3c-$i"; i=$((i + 1)); done
for f in $C/httperr/*; do (printf '\x01'; cat "$f") > "$C/ingest/herr-$i"; i=$((i + 1)); done
for f in tests/fixtures/dumps/breakpad_tiny*.dmp; do (printf '\x02'; cat "$f") > "$C/ingest/dmp-$i"; i=$((i + 1)); done
for f in tests/fixtures/events/*.xml; do (printf '\x03'; cat "$f") > "$C/ingest/ev-$i"; i=$((i + 1)); done
python3 - "$C" <<'PY'
import sys
c = sys.argv[1]
h = ("#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method "
     "cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status "
     "sc-substatus sc-win32-status time-taken\r\n")
lines = "".join("2024-03-01 00:00:%02d 10.0.0.5 GET /p%d - 443 - 10.1.2.3 UA - 200 0 0 15\r\n" % (i, i) for i in range(5))
t = h + lines
open(c + "/ingest/utf16", "wb").write(b"\x00\xff\xfe" + t.encode("utf-16-le"))
open(c + "/ingest/cr", "wb").write(b"\x00" + t.replace("\r\n", "\r").encode())
open(c + "/ingest/nul", "wb").write(b"\x00" + h.encode() + b"\0" * 4096 + t.encode())
bad = ("2024-03-01 00:00:01 10.0.0.5 GET /p - 443 - 10.1.2.3 UA - -200 0 0 18446744073709551615\r\n"
       "2024-03-01 00:00:01 10.0.0.5 GET /p - 443 - 10.1.2.3 UA - 2e3 0 0 -1\r\n")
open(c + "/w3c/badnum", "wb").write((h + bad).encode())
PY
echo "seeded: $(for d in $C/*; do printf '%s %s  ' "$(basename "$d")" "$(ls "$d" | wc -l)"; done)"
