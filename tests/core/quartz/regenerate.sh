#!/bin/sh
# Regenerate vectors.json: what the real Quartz says, the judge of headwater's cron evaluator.
#
#   tests/core/quartz/regenerate.sh            # from anywhere in the repository
#
# Needs Debian's Quartz and a JDK 17 (apt-get install -y libquartz2-java openjdk-17-jdk-headless)
# and python3. It compiles QuartzOracle.java against /usr/share/java/quartz2.jar (Quartz 2.3.2),
# asks it about every case cases.py builds and about Java's time-zone ids, and writes
# vectors.json next to this script. The cases live in cases.py: change them there, then run
# this; never edit vectors.json by hand. CI does not need to run it: the tests read the
# committed vectors. Java's own time-zone data (tzdb.dat) answers the DST cases, so a JDK
# with much older or newer data than the system's may change a few vectors; the JDK and its
# tzdb version are written into the vectors' "about".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
java_home=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
quartz=${QUARTZ_JAR:-/usr/share/java/quartz2.jar}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$java_home/bin/javac" -d "$work" -cp "$quartz" "$here/QuartzOracle.java"
export PYTHONIOENCODING=utf-8
python3 "$here/cases.py" tsv > "$work/cases.tsv"
python3 "$here/cases.py" zone-ids > "$work/ids.txt"
"$java_home/bin/java" -cp "$work:$quartz" QuartzOracle cases < "$work/cases.tsv" > "$work/results.jsonl"
# shellcheck disable=SC2046  # the instants are separate arguments
"$java_home/bin/java" -cp "$work:$quartz" QuartzOracle zones $(python3 "$here/cases.py" instants) \
    < "$work/ids.txt" > "$work/zones.jsonl"

java_version=$("$java_home/bin/java" -version 2>&1 | head -n 1)
tzdb=$(head -c 16 "$java_home/lib/tzdb.dat" | tr -cd 'A-Za-z0-9' | sed 's/^TZDB//')
about="Quartz 2.3.2 (org.quartz.CronExpression, Debian libquartz2-java) on $java_version, tzdb $tzdb; regenerate with tests/core/quartz/regenerate.sh"
python3 "$here/cases.py" assemble "$work/results.jsonl" "$work/zones.jsonl" "$about" > "$work/vectors.json"
mv "$work/vectors.json" "$here/vectors.json"
echo "wrote $here/vectors.json" >&2
