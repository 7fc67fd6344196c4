# The README's commands. `make run` and `make test` each set up what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup system-deps lint bench clean

$(BIN)/flask: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/flask

setup: $(BIN)/flask ## Create .venv with the app and test dependencies

run: setup ## Set up, then serve the site (first run: admin account + sample report)
	-@bash scripts/system-deps.sh --runtime || echo "（未能安装中文字体：PDF 导出将提示安装 fonts-noto-cjk，其余功能不受影响）"
	$(BIN)/flask --app app serve --host $(HOST) --port $(PORT)

system-deps: ## Debian packages the tests need (chromium, CJK fonts, Pango)
	@bash scripts/system-deps.sh

test: setup system-deps ## Set up, then run every test (unit, HTTP and real-browser)
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check app tests bench

bench: setup ## Load benchmarks with wrk against the real server and its ceiling, by hand (bench/README.md; docs/benchmarks.md)
	@bash scripts/system-deps.sh --bench
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
