# The README's two commands are `make site` and `make test`; the rest are for developers.
.PHONY: site test unit integration sanity docs lint molecule fuzz fuzz-dns bootstrap bench clean

site:
	tools/site

test:
	tools/test

unit integration sanity docs lint molecule fuzz:
	tools/test $@

bootstrap:
	tools/bootstrap

bench:
	tools/bench

# The DNS codec against dnspython on many generated messages (FUZZ_ARGS="--seed 7 --messages 1000000").
fuzz-dns:
	tools/fuzz-dns $(FUZZ_ARGS)

clean:
	rm -rf .build tests/output
