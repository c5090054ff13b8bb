# The bench programs, built with the project's own flags: bench/run reads
# this after the top Makefile,
#   make -f Makefile -f bench/bench.mk bench-programs
# The simdjson peer gets every help we can give it (-O3, NDEBUG, the host's
# instruction set): it is the bar, not the thing measured.

BENCH_CXX	?= g++
BENCH_CXXFLAGS	?= -std=c++17 -O3 -DNDEBUG -march=native

READBENCH_CMD = $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $(B)/bench/readbench \
	bench/readbench.c $(LIBCDR) $(LIBS)
SIMDJSON_CMD = $(BENCH_CXX) $(BENCH_CXXFLAGS) -Wall -Wextra -o $(B)/bench/simdjson_parse \
	bench/simdjson_parse.cpp -lsimdjson

.PHONY: bench-programs bench-commands

bench-programs: $(B)/bench/readbench $(B)/bench/simdjson_parse

$(B)/bench/readbench: bench/readbench.c $(LIBCDR) $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(READBENCH_CMD)

$(B)/bench/simdjson_parse: bench/simdjson_parse.cpp
	@mkdir -p $(@D)
	$(SIMDJSON_CMD)

# $(info) prints the commands as make runs them, quotes and all.
bench-commands:
	$(info $(READBENCH_CMD))
	$(info $(SIMDJSON_CMD))
	@:
