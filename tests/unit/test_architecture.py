"""The package's shape: no import cycle, no module over about 400 lines, no import of a private name,
no unexplained function-level import of a benchlib module, no constant defined twice."""

from __future__ import annotations

from architecture import (
    MAX_MODULE_LINES,
    duplicated_constants,
    function_level_imports,
    import_cycles,
    import_edges,
    long_modules,
    private_imports,
)

# A benchlib module is imported at module level unless importing it there costs something real; then the
# import stays in the function that needs it, is listed here under its reason, and says why in a comment on
# its line or the line above (which covers the imports right below it too):
#   heavy:    a heavy dependency the entry point importing the module does not need (measured: the
#             third-party packages it adds to the importing module's own imports);
#   optional: a module that needs an optional extra to import at all;
#   cycle:    an import cycle at run time, through a package's __init__ (the graph below, which resolves
#             modules and not the packages they run, does not see it).
ALLOWED_FUNCTION_IMPORTS: dict[str, set[tuple[str, str]]] = {
    "heavy": {
        # statsmodels (benchlib.analysis): the command line starts without it; `benchlib report` and
        # `benchlib bench` load it
        ("benchlib.cli", "benchlib.analysis"),
        ("benchlib.cli", "benchlib.selfbench.bench"),
        ("benchlib.notebook_runner", "benchlib.decision"),
        # `python -m benchlib.selfbench.runtime_compare` is the measured process: it loads only its runtime
        # (its peak RSS is a result)
        ("benchlib.selfbench.runtime_compare", "benchlib.metrics"),
        ("benchlib.selfbench.runtime_compare", "benchlib.models"),
        ("benchlib.selfbench.runtime_compare", "benchlib.runtimes"),
        ("benchlib.selfbench.runtime_compare", "benchlib.runtimes.base"),
        ("benchlib.selfbench.runtime_compare", "benchlib.runtimes.onnx"),
        ("benchlib.selfbench.runtime_compare", "benchlib.runtimes.onnx.conversion"),
        ("benchlib.selfbench.runtime_compare", "benchlib.workload"),
    },
    "optional": {
        # runtimes/onnx/runtime.py checks for ONNX Runtime GenAI (the onnx extra) at import and raises without it
        ("benchlib.runtimes.onnx", "benchlib.runtimes.onnx.runtime"),
        ("benchlib.runtimes.onnx.quality", "benchlib.runtimes.onnx.runtime"),
        ("benchlib.runtimes.registry", "benchlib.runtimes.onnx.runtime"),
    },
    "cycle": {
        # benchlib.sweep's __init__ imports the engine, which imports benchlib.config
        ("benchlib.config.sections", "benchlib.sweep.steps"),
        # the Prometheus modules import benchlib.power, whose __init__ imports power.registry
        ("benchlib.power.registry", "benchlib.prometheus.source"),
    },
}

# The same UPPER_CASE name assigned at module level in several modules, each meaning its own module's thing.
# A constant that means one thing is defined once and imported.
ALLOWED_DUPLICATE_CONSTANTS: dict[str, tuple[set[str], str]] = {
    "COLUMNS": (
        {"benchlib.analysis.comparisons", "benchlib.decision.sensitivity"},
        "each module's own table: the comparisons' and the tornado's",
    ),
    "DIALECT": (
        {"benchlib.runtimes.http.openai_chat", "benchlib.runtimes.http.openai_completions"},
        "the name every dialect module gives its dialect; runtimes.http.apis collects them",
    ),
    "IMPORTER": (
        {
            "benchlib.importers.aiperf",
            "benchlib.importers.guidellm",
            "benchlib.importers.llama_bench",
            "benchlib.importers.vllm_bench",
        },
        "the name every importer module gives its importer; importers.registry collects them",
    ),
    "TOOL": (
        {
            "benchlib.importers.aiperf",
            "benchlib.importers.guidellm",
            "benchlib.importers.llama_bench",
            "benchlib.importers.vllm_bench",
        },
        "each importer's --tool name",
    ),
    "METRICS": (
        {"benchlib.analysis.comparison_samples", "benchlib.analysis.statistics", "benchlib.importers.base"},
        "three different tables: metrics compared between runs, metrics of summary.csv, metrics an imported "
        "file may carry",
    ),
    "METRIC_LABELS": (
        {"benchlib.decision.capacity", "benchlib.selfbench.calibration_report"},
        "words in the decision's messages against axis labels with units of a benchmark figure",
    ),
    "MODES": (
        {"benchlib.prometheus.source", "benchlib.testing.replay_server"},
        "the prometheus source's modes (scrape, query) against the replay server's",
    ),
    "SCHEMA_VERSION": (
        {"benchlib.cost.price_files", "benchlib.importers.guidellm", "benchlib.records.directory"},
        "three file formats: price files, guidellm's report (read), run.json",
    ),
    "SECTIONS": (
        {"benchlib.config.sweep", "benchlib.decision.inputs"},
        "the sections of a sweep parameter file against those of a decision file",
    ),
}


def test_the_import_graph_is_read():
    edges = {(e.importer, e.imported) for e in import_edges()}
    assert ("benchlib.sweep.engine", "benchlib.config") in edges  # a module-level import
    assert ("benchlib.config.sections", "benchlib.sweep.steps") in edges  # a function-level one counts too


def test_no_import_cycle():
    assert import_cycles() == []


def test_no_module_over_the_limit():
    assert long_modules() == {}, f"split modules over {MAX_MODULE_LINES} lines"


def test_no_import_of_another_modules_private_name():
    assert private_imports() == []


def test_function_level_imports_are_read():
    found = {(i.importer, i.imported): i.reason for i in function_level_imports()}
    assert found[("benchlib.config.sections", "benchlib.sweep.steps")] == "cycle"
    assert found[("benchlib.runtimes.onnx", "benchlib.runtimes.onnx.runtime")] == "optional"  # in a package
    assert ("benchlib.sweep.engine", "benchlib.config") not in found  # module level


def test_every_function_level_import_of_a_benchlib_module_is_allowed_and_says_why():
    allowed = {pair: reason for reason, pairs in ALLOWED_FUNCTION_IMPORTS.items() for pair in pairs}
    problems = []
    for found in function_level_imports():
        where = f"{found.importer}:{found.line} imports {found.imported} in a function"
        reason = allowed.get((found.importer, found.imported))
        if reason is None:
            problems.append(f"{where}: import it at module level (or list it in ALLOWED_FUNCTION_IMPORTS with why)")
        elif found.reason != reason:
            problems.append(f"{where}: say why on its line or the line above, '# {reason}: ...'")
    assert problems == []


def test_the_allowed_function_level_imports_all_exist():
    found = {(i.importer, i.imported) for i in function_level_imports()}
    listed = {pair for pairs in ALLOWED_FUNCTION_IMPORTS.values() for pair in pairs}
    assert listed - found == set(), "moved to module level or gone: take them off ALLOWED_FUNCTION_IMPORTS"


def test_no_constant_is_defined_in_two_modules_unless_allowed():
    allowed = {name: sorted(modules) for name, (modules, _why) in ALLOWED_DUPLICATE_CONSTANTS.items()}
    assert duplicated_constants() == allowed, "define a constant once and import it (or allow it, saying why)"
