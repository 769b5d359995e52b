# The README's two commands are `make site` and `make test`; the rest are for developers.
.PHONY: site test unit integration sanity docs lint molecule fuzz bootstrap bench clean

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

clean:
	rm -rf .build tests/output
