# make pdf   - set up everything a fresh Debian machine lacks, then build the default guide
# make test  - the same set-up plus test tools, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
GUIDE ?= guide

.PHONY: pdf test check preview serve bench thumbnails clean system-build system-test

pdf: system-build $(VENV)/.installed
	$(BIN)/leadguide build $(GUIDE)

test: system-test $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

check: pdf
	$(BIN)/leadguide check $(GUIDE)

preview: $(VENV)/.installed
	$(BIN)/leadguide preview $(GUIDE)

serve: $(VENV)/.installed
	$(BIN)/leadguide serve $(GUIDE) --open

bench: system-build $(VENV)/.installed-test
	$(BIN)/python bench/build.py $(GUIDE)

# The contact sheet: the first edition's pages (the guide as it stood before the second
# edition's work, built from git history with its own code) above today's.
FIRST_EDITION ?= 241830d
thumbnails: pdf build/first-edition.pdf
	$(BIN)/python scripts/thumbnails.py $(GUIDE)/build/inside-out-strength-guide.pdf docs/thumbnails.png \
	  --before build/first-edition.pdf

build/first-edition.pdf:
	-git worktree remove --force build/first-edition-src 2>/dev/null
	git worktree add --detach build/first-edition-src $(FIRST_EDITION)
	PYTHONPATH=build/first-edition-src/src $(BIN)/python -m leadguide build \
	  build/first-edition-src/guide --out $@
	git worktree remove --force build/first-edition-src

system-build:
	@scripts/system-deps.sh build

system-test:
	@scripts/system-deps.sh test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@4  # the preview's accessibility tests
	touch $@

clean:
	rm -rf build .pytest_cache
