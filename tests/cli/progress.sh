#!/bin/bash
# The progress bar: drawn on stderr when it is a terminal (faked with script(1)), never with -q,
# never when stderr is a file or a pipe.
source "$(dirname "$0")/common.bash"
need script
"$VMDKIT" create -q --seed 1 d.vmdk --size 64M && "$VMDKIT" write -q d.vmdk --offset 0 --length 32M --pattern 1 || exit 1

script -qec "'$VMDKIT' convert d.vmdk tty.raw --to raw" /dev/null > tty.txt 2>&1
contains tty.txt "convert [" "bar drawn on a terminal"
contains tty.txt "64.0 MiB" "bar shows the total"
script -qec "'$VMDKIT' convert -q d.vmdk quiet.raw --to raw" /dev/null > quiet.txt 2>&1
[ -s quiet.txt ] && fail "-q still printed: $(head -c 200 quiet.txt)" || pass "-q prints nothing"
"$VMDKIT" convert d.vmdk file.raw --to raw > out.txt 2> err.txt
[ -s err.txt ] && fail "bar drawn on a file" || pass "no bar when stderr is a file"
contains out.txt "wrote file.raw" "summary on stdout"
script -qec "'$VMDKIT' compare d.vmdk file.raw" /dev/null > cmp.txt 2>&1
contains cmp.txt "identical" "compare on a terminal"
finish
