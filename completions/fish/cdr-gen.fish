# fish completion for cdr-gen, generated from cdr-gen --help
# by build-aux/gen-completions; do not edit.
complete -c cdr-gen -l dir -s d -r -x -a '(__fish_complete_directories)' -d 'write WAV files under dir (wav)'
complete -c cdr-gen -l force -s f -d 'replace existing output files'
complete -c cdr-gen -l kind -s k -r -x -d 'the kind, instead of the operand'
complete -c cdr-gen -l count -s n -r -x -d 'records (sms: messages; orgs: organisations;'
complete -c cdr-gen -l format -s O -r -x -d 'ndjson (default) or csv'
complete -c cdr-gen -l output -s o -r -F -d 'write to file, atomically (default: stdout)'
complete -c cdr-gen -l seed -r -x -d 'random seed (default 1)'
complete -c cdr-gen -l start -r -x -d 'first instant (default 2026-11-22T00:00:00Z)'
complete -c cdr-gen -l days -r -x -d 'spread over n days (default 1)'
complete -c cdr-gen -l span -r -x -d 'spread over a duration (36h, 90m)'
complete -c cdr-gen -l tenants -r -x -d 'tenants (default 20)'
complete -c cdr-gen -l agents -r -x -d 'agents (default 10 a tenant)'
complete -c cdr-gen -l queues -r -x -d 'queues (default 2 a tenant)'
complete -c cdr-gen -l campaigns -r -x -d 'campaigns (default 12)'
complete -c cdr-gen -l error-rate -r -x -d 'share of malformed records (0.05, 5%)'
complete -c cdr-gen -l duplicate-rate -r -x
complete -c cdr-gen -l truth -r -F -d 'list malformed and repeated lines (NDJSON)'
complete -c cdr-gen -l rate -r -x -d 'pace output at n lines a second'
complete -c cdr-gen -l duration -r -x -d 'length of every recording (wav)'
complete -c cdr-gen -l min-duration -r -x
complete -c cdr-gen -l max-duration -r -x
complete -c cdr-gen -l rate-hz -r -x -d 'sample rate (wav, default 8000)'
complete -c cdr-gen -l channels -r -x -d '1 or 2 (wav, default 2)'
complete -c cdr-gen -l bits -r -x -d '8, 16, 24 or 32 (wav, default 16)'
complete -c cdr-gen -l help -s h -d 'show this help'
complete -c cdr-gen -l version -s V -d 'show the version'
