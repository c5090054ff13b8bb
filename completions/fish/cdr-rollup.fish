# fish completion for cdr-rollup, generated from cdr-rollup --help
# by build-aux/gen-completions; do not edit.
complete -c cdr-rollup -l input-format -s i -r -x -a 'auto ndjson csv'
complete -c cdr-rollup -l output-format -s O -r -x -a 'ndjson csv'
complete -c cdr-rollup -l output -s o -r -F -d 'write to FILE (atomic) instead of stdout'
complete -c cdr-rollup -l force -s f -d 'replace an existing output file'
complete -c cdr-rollup -l every -r -x -d '5s 15m 1h (fixed), 1d 1w 1mo 1q 1y (calendar);'
complete -c cdr-rollup -l time -r -x -d 'event time: the first present field (default'
complete -c cdr-rollup -l tz -r -x -d 'zone of calendar buckets and output times (UTC)'
complete -c cdr-rollup -l week-start -r -x -d 'first day of 1w buckets (monday)'
complete -c cdr-rollup -l offset -r -x -d 'shift fixed windows (e.g. 15m, -30m)'
complete -c cdr-rollup -l by -r -x -d 'group keys: [name=]field.path, or dimension columns'
complete -c cdr-rollup -l agg -r -x -d '[name=]aggregate, comma-separated (default count):'
complete -c cdr-rollup -l where -r -x -d 'aggregate only records where the jq EXPR is true'
complete -c cdr-rollup -l dim -r -F -d 'dimension table (NDJSON or CSV)'
complete -c cdr-rollup -l on -r -x -d 'join field: FIELD or RECORD_FIELD=DIM_FIELD'
complete -c cdr-rollup -l dim-version -r -x -d 'the latest version of a key wins (default: last row)'
complete -c cdr-rollup -l dim-fields -r -x -d 'dimension columns appended to rows (default: all)'
complete -c cdr-rollup -l watermark -r -x
complete -c cdr-rollup -l allowed-lateness -r -x
complete -c cdr-rollup -l idle-flush -r -x
complete -c cdr-rollup -l partial -d 'write mergeable partial states (NDJSON)'
complete -c cdr-rollup -l merge -d 'read partial states and combine them'
complete -c cdr-rollup -l grain -r -x -d '--merge: only partial rows of this grain'
complete -c cdr-rollup -l exact -d 'exact percentiles and distinct counts'
complete -c cdr-rollup -l distinct-exact -r -x -d 'distinct counts exact up to N values (2048)'
complete -c cdr-rollup -l hll-precision -r -x -d 'HyperLogLog registers 2^P (14: 0.81% error)'
complete -c cdr-rollup -l relative-error -r -x -d 'percentile sketch accuracy (0.01)'
complete -c cdr-rollup -l max-groups -r -x -d 'fail rather than hold more groups'
complete -c cdr-rollup -l dead-letter -r -F -d 'rejected and late records with reasons'
complete -c cdr-rollup -l max-errors -r -x -d 'rejected records allowed before exit status 1 (0)'
complete -c cdr-rollup -l max-error-rate -r -x -d 'rejected share allowed (e.g. 0.01 or 1%)'
complete -c cdr-rollup -l stats -r -F -d 'counts, groups and state bytes as JSON'
complete -c cdr-rollup -l max-record -r -x -d 'longest record (default 256M)'
complete -c cdr-rollup -l progress
complete -c cdr-rollup -l no-progress
complete -c cdr-rollup -l quiet -s q -d 'no summary line'
complete -c cdr-rollup -l help -s h -d 'this help'
complete -c cdr-rollup -l version -s V -d 'version and library versions'
