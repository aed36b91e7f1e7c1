"""The content of ``docs/commands/``: one `Page` per ``nnspec`` command.

`docgen.py` renders these definitions into Markdown by running each page's steps;
this module holds only what the pages say — introductions, steps, exit codes,
notes, elisions — and the scratch files the steps read. Adding a command means
adding its `Page` to `PAGES`, in the order of `nnspec.cli.main.COMMANDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Scratch files shared by several pages.
_BAD = """\
{
  "nnspec": "1",
  "name": "xor",
  "inputs": {"x": {"shape": ["batch", 2]}},
  "nodes": [
    {"id": "hidden", "op": "dense", "units": 8, "activation": "tanhh"},
    {"id": "prob", "op": "dense", "unit": 1, "activation": "sigmoid"}
  ]
}
"""
_POINTS = "x_0,x_1\n0,0\n2,0\n0,3\n3,1\n"
_ROWS = "0,0\n2,0\n0,3\n3,1\n"
_XOR_DATA = "nnspec data xor -o xor.npz --n 400 --noise 0.05"


@dataclass(frozen=True)
class Page:
    """One command's page.

    `steps` run in order in one scratch folder, each shown as typed with its output:
    ``nnspec ...`` (in process), ``python FILE ...`` (a subprocess, e.g. a compiled
    module), ``cat FILE`` or ``head -n N FILE``. Any step may end in ``| head -n N``
    and a ``# comment``. `elide` maps a regex to its replacement in every output.
    """

    command: str
    intro: str
    steps: tuple[str, ...]
    exits: tuple[tuple[int, str], ...]
    files: dict[str, str] = field(default_factory=dict)  # written to the scratch folder first
    notes: str = ""
    elide: tuple[tuple[str, str], ...] = ()


# The interpreter-vs-onnxruntime error of --verify tables (machine-dependent digits).
_ORT_ERROR = ((r"(onnxruntime  +)\d\.\d\de[-+]\d\d", "\\1≪ bound "),)

PAGES: tuple[Page, ...] = (
    Page(
        "demo",
        "The README's one-command tour on the bundled XOR example "
        "(`examples/xor.json`): validate the document, train it on 400 points of the "
        "Playground's XOR data (a progress bar on a terminal), measure its accuracy on 400 "
        "new points, compile it to a standalone module, import that module in a fresh "
        "Python process where nnspec cannot be imported, and compare its predictions on a "
        "21 × 21 grid with the interpreter's. Nothing is left behind: the module lives in "
        "a temporary folder.",
        ("nnspec demo",),
        exits=(
            (0, "the compiled module's predictions are bit-identical to the interpreter's"),
            (1, "they differ (the largest difference is printed)"),
        ),
        notes="The module's size is elided here (`…`): it changes with the code generator.",
        elide=((r"[\d,]+ bytes", "… bytes"),),
    ),
    Page(
        "validate",
        "Checks documents the way `nnspec.load` does — strict JSON, the JSON Schema, then "
        "meaning: references, cycles, shapes with symbolic dims, dtypes, params, the "
        "training section, limits — and reports every problem of a stage at once, each "
        "with its file, start and end position, stable code (see [errors.md](../errors.md)) "
        "and JSON pointer. A later stage runs only on a document clean at the earlier ones. "
        "Reports go to stdout (or `--output-file`) in the chosen format (`github` writes "
        "workflow annotations, `sarif` is for code-scanning upload); a one-line summary "
        "goes to stderr. A file that cannot be read is reported in every format as NN010. "
        "A folder is walked on its own file system only (like `find -xdev`: a mount below "
        "it, such as /proc or /dev, is not entered; name it to check it), skipping hidden "
        "folders and node_modules, and passing over names that are not regular files "
        "(FIFOs, devices, sockets); a link to nowhere is reported as NN010. A FIFO, "
        "device, folder or broken link named `nnspec.toml` or `pyproject.toml` is a "
        "configuration error (exit 2), never skipped or waited on. A bad configuration "
        "file (including those, and one named by `--config`) is reported once, on "
        "stderr and in the json (`configuration_errors`) and sarif "
        "(`invocations[0].toolConfigurationNotifications`) reports and as a github "
        "annotation on the file; the documents it governs are left unchecked and "
        "counted in the summary, every other document is still checked, and "
        "the exit code is 2, whatever `--exit-zero` says. A configuration file is read only "
        "for documents, so a broken one above other JSON files does not matter. "
        "Warnings can be selected and ignored by code or prefix, on the command line, in "
        "`nnspec.toml` / `[tool.nnspec]` or in the document itself; errors are always "
        "reported. Setting up pre-commit, GitHub and editors: [ci.md](../ci.md).",
        (
            "nnspec validate xor.json mlp.json",
            "cat bad.json",
            "nnspec validate bad.json",
            "nnspec validate --format github bad.json",
            "nnspec validate --statistics bad.json missing.json",
            'nnspec validate .  # a folder: every *.json that declares "nnspec"',
        ),
        exits=(
            (0, "every file is valid (warnings allowed unless strict), or `--exit-zero`"),
            (1, "some file is invalid, or has warnings when strict"),
            (
                2,
                "a file that cannot be read (reported as NN010), a usage or configuration "
                "error, or a glob that matches nothing",
            ),
        ),
        files={"bad.json": _BAD},
        notes="Arguments may be files, folders, quoted globs (`'models/**/*.json'`) or `-` "
        "for standard input (name it with `--stdin-filename`); the files are checked in "
        "order, each once, also when links name it twice. Positions are 1-based; an end "
        "is the position just past the value (exclusive, as in SARIF). The limits are "
        "described in [format.md](../format.md#limits).",
    ),
    Page(
        "schema",
        "Prints the JSON Schema (draft 2020-12) of the document format, version 1, for "
        "editors and other tools: point a document's `\"$schema\"` key or your editor's "
        "JSON settings at the written file to get completion and inline errors. Its op "
        "section is generated from the op registry. The schema checks the form only; "
        "`nnspec validate` also checks the meaning (references, shapes, dtypes).",
        ("nnspec schema | head -n 12", "nnspec schema -o nnspec.schema.json"),
        exits=((0, "printed or written"), (2, "usage error")),
    ),
    Page(
        "run",
        "Runs a document's graph with the NumPy interpreter on data files and writes its "
        "outputs. Inputs come from a `.npz` (one array per input name), a `.npy` (one "
        "input) or a `.csv` with a header row (`x_0, x_1, …`); outputs go to a `.npz` (one "
        "array per output), a `.npy` (one output) or a `.csv` (`<output>_0, <output>_1, "
        "…`). Inputs are checked against the document's types first (see "
        "[interpreter.md](../interpreter.md#inputs)). `-o -` writes to standard output: "
        "CSV, several outputs side by side in one table as a compiled module prints them "
        "(`a_0,a_1,s`), or with `--output-format npy|npz` the binary file, refused on a "
        "terminal and on a standard output that takes only text (a `StringIO`, some "
        "notebooks'); a reader that stops early (`| head`) ends the run quietly. A CSV "
        "input's header row may be left out when the document has one input: a first row "
        "of numbers is data, a first row of names is the header, and a row mixing both is "
        "refused — the compiled module reads CSV by the same rule and takes the same "
        "columns ([format.md](../format.md#csv-data-files)). The example runs the "
        "lecture's hand-weighted network of sign neurons, whose weights are in the document.",
        (
            "cat points.csv",
            "nnspec run sign_network.json --input points.csv -o out.csv",
            "cat out.csv",
            "cat bare.csv  # the same points without the header row",
            "nnspec run sign_network.json --input bare.csv -o - | head -n 3",
            "nnspec run mlp.json --input points.csv -o out.csv  # the wrong number of features",
        ),
        exits=(
            (0, "outputs written"),
            (1, "the document is invalid (its problems are printed, located)"),
            (
                2,
                "usage error, unreadable document, missing or unfitting inputs, an output "
                "that is not .npz/.npy/.csv or -, is the document itself, or is in a missing "
                "folder; a binary --output-format on a terminal or a text-only standard output",
            ),
        ),
        files={"points.csv": _POINTS, "bare.csv": _POINTS.split("\n", 1)[1]},
    ),
    Page(
        "train",
        "Trains a document with its `training` section (loss, optimizer, epochs, batch "
        "size, metrics; see [training.md](../training.md)) on a data file, and writes the "
        "trained document: the input document with every param's value, inline up to "
        "10 000 param elements, else in `OUT.weights.npz` beside it. Before writing, the "
        "output is loaded again and compared bit for bit. Outputs are written atomically "
        "and the input document is never overwritten without `--in-place`. The same seed "
        "gives the same weights.",
        (
            _XOR_DATA,
            "nnspec train xor.json --data xor.npz --out xor.trained.json",
            "nnspec train xor.json --data xor.npz --out short.json --epochs 3 --seed 1 "
            "--history history.csv",
            "cat history.csv",
            "nnspec train linear_regression.json --data xor.npz --out lin.json",
        ),
        exits=(
            (0, "trained and written"),
            (
                1,
                "the document is invalid, or training failed on a non-finite loss (the "
                "history is still written, the document is not)",
            ),
            (
                2,
                "usage error, a document without `training`, or data that is missing, "
                "unreadable or does not fit the document",
            ),
            (130, "interrupted: the outputs hold the last completed epoch"),
        ),
        notes="`--data` takes a `.npz` with arrays named after the inputs and the target "
        "(what `nnspec data` writes: `x` and `y`), a `.npy`, or a `.csv` with a header "
        "where `--target` names the target columns. The history's losses are cut to four "
        "decimals here (`…`): their last digits depend on the CPU's BLAS kernels.",
        elide=((r"(\d\.\d{4})\d{4,}", "\\1…"),),
    ),
    Page(
        "evaluate",
        "Keras's `model.evaluate`: the training loss and metrics of a (trained) document on "
        "a data file, read exactly as `nnspec train` reads it (`--target`, "
        "`--input-columns`); nothing is written. See [training.md](../training.md).",
        (
            _XOR_DATA,
            "nnspec data xor -o test.npz --n 200 --noise 0.05 --seed 7",
            "nnspec train xor.json --data xor.npz --out xor.trained.json --silent",
            "nnspec evaluate xor.trained.json --data test.npz",
            "nnspec evaluate xor.trained.json --data test.npz --format json",
        ),
        exits=(
            (0, "evaluated"),
            (1, "the document is invalid (problems on stderr)"),
            (
                2,
                "usage error, a document without `training`, or data that is missing, "
                "unreadable or does not fit the document",
            ),
        ),
        notes="Losses are cut to three decimals here (`…`): their last digits depend on the "
        "CPU's BLAS kernels.",
        elide=((r"(\d\.\d{3})\d+", "\\1…"),),
    ),
    Page(
        "summary",
        "A table of a model's layers, like Keras' `model.summary()`: each document-level "
        "node (a composite such as `dense` collapsed to one row, with its number of "
        "primitives), its op, its output type with symbolic dims (`f32[batch,8]`, see "
        "the printer in `nnspec.printer`), its param count and the values it reads; "
        "then total, trainable and non-trainable params with the memory of the weights.",
        ("nnspec summary xor.json", "nnspec summary sign_network.json --format json"),
        exits=(
            (0, "shown"),
            (1, "the document is invalid (problems on stderr)"),
            (2, "unreadable file or usage error"),
        ),
    ),
    Page(
        "graph",
        "The computation graph as Graphviz DOT or Mermaid text: inputs, params, primitive "
        "ops and outputs (drawn with a double border). Composite layers are clusters of "
        "their primitives, or single boxes with `--collapse`. Vertex ids (`n0`, `n1`, …) "
        "are the generator's own; document text only appears inside escaped labels, so a "
        "hostile name cannot break the output. `-o x.svg`, `x.png` or `x.pdf` renders "
        "through Graphviz's `dot` when it is on PATH; without it the command exits 2 "
        "and says how to install it (`apt-get install graphviz`, `brew install graphviz`).",
        (
            "nnspec graph logistic_regression.json",
            "nnspec graph xor.json --collapse --format mermaid",
        ),
        exits=(
            (0, "printed or written"),
            (1, "the document is invalid, or `dot` failed"),
            (
                2,
                "unreadable file, usage error, an output suffix of unknown format, or an "
                "image requested without Graphviz",
            ),
        ),
        notes="The format follows the suffix of `-o` (`.dot`/`.gv`, `.mmd`/`.mermaid`, "
        "or an image), else `--format` (default `dot`).",
    ),
    Page(
        "data",
        "Writes one of the TensorFlow-Playground-style 2-D data sets of "
        "`nnspec.datasets` to a `.npz` or `.csv` file holding `x` [n, 2] and `y` [n, 1], "
        "ready for `nnspec train`. `--labels` writes classification targets as int64 "
        "class labels `y` [n], the form `cross_entropy` with integer labels expects.",
        (
            "nnspec data --list",
            "nnspec data circle --n 6 --noise 0.1 -o circle.csv",
            "cat circle.csv",
        ),
        exits=(
            (0, "written or listed"),
            (
                2,
                "usage error: no NAME or `-o`, an output that is not .npz/.csv, an unknown "
                "set, `--labels` on a regression set",
            ),
        ),
    ),
    Page(
        "init",
        "Writes a starting document of one kind — `linear`, `logistic`, `softmax`, `mlp`, "
        "`maxout` or `playground` (the TensorFlow Playground's default set-up, see "
        "[playground.md](../playground.md)) — explained through `description` and `x-` "
        "keys (JSON has no comments). Each validates as written and names its input `x` "
        "and target `y`, so the `nnspec data` set it suggests trains it directly. An "
        "existing file is "
        "never replaced unless `--force` is given.",
        (
            "nnspec init logistic -o logistic.json",
            "cat logistic.json",
            "nnspec validate logistic.json",
        ),
        exits=(
            (0, "written"),
            (2, "the file exists (without `--force`), cannot be written, or usage error"),
        ),
        notes="Matching data sets: linear → `plane`, logistic → `gaussians`, softmax → "
        "`gaussians --labels`, mlp → `circle`, maxout → `xor`, playground → "
        "`circle --n 500`.",
    ),
    Page(
        "plot",
        "PNG plots of training (640 × 480 pixels), from the optional extra "
        "`pip install 'nnspec[plot]'` (matplotlib); without it the command exits 2 and "
        "says so. `plot history` draws the loss (log scale) and metric curves from the "
        "history JSON `nnspec train` writes. `plot boundary` draws, for a model with one "
        "input of shape [batch, 2], its decision regions (classification: the probability "
        "of class 1 with the 0.5 contour, or the winning class) or its output surface "
        "(regression) over the data points, as the TensorFlow Playground does.",
        (
            _XOR_DATA,
            "nnspec train xor.json --data xor.npz --out xor.trained.json --history "
            "history.json --quiet",
            "nnspec plot history history.json -o loss.png",
            "nnspec plot boundary xor.trained.json --data xor.npz -o boundary.png",
        ),
        exits=(
            (0, "written"),
            (1, "the document is invalid (`boundary`)"),
            (
                2,
                "matplotlib is missing, the output is not .png, the history or data cannot "
                "be read, the model has no single [batch, 2] input, or usage error",
            ),
        ),
        notes="From Python, `nnspec.tools.plots.write_training_plots(history, model, data, "
        "folder)` writes `history.png` and (for a 2-input model) `boundary.png`; "
        "`nnspec train --plot DIR` calls it.",
    ),
    Page(
        "compile",
        "Compiles a document into one standalone Python module that imports only NumPy "
        "(see [codegen.md](../codegen.md)): the weights embedded bit-exact (or in "
        "`<stem>.weights.npz` with `--weights-file`), `predict()` and `run()`, input "
        "checks, an embedded self-test and a command line. Its outputs are bitwise equal "
        "to the interpreter's. The same document gives the same bytes, so `--check` can "
        "keep a committed module in step with its document in CI.",
        (
            "nnspec compile sign_network.json -o sign_model.py",
            "head -n 3 sign_model.py",
            "python sign_model.py --self-test",
            "python sign_model.py rows.csv",
            "nnspec compile sign_network.json -o sign_model.py --check",
        ),
        exits=(
            (0, "written, or with `--check` up to date"),
            (1, "the document is invalid, or with `--check` the files on disk differ"),
            (2, "unreadable document, or `--weights-file`/`--check` without `-o`"),
        ),
        files={"rows.csv": _ROWS},
        notes="The module's own command line takes one `.npy` or `.csv` file per input "
        "(CSV in the same dialect as `nnspec data` and `nnspec run`: a header row, which "
        "is optional on input, and one row per example) and "
        "`-o out.npy|out.csv`; `--self-test` recomputes outputs stored at compile time "
        "and exits 1 on a mismatch.",
    ),
    Page(
        "check",
        "One document's agreement test: compiles it, runs the compiled module and the "
        "interpreter on random inputs (symbolic dims set to `--batch`; positive where the "
        "graph takes an input's log, square root or fractional power or divides by it, "
        "see [onnx.md](../onnx.md#verification)) and requires their "
        "outputs to be bitwise equal; then compares the interpreter's gradient of the "
        "training loss for each trainable param with central finite differences (step "
        "1e-6), on a float64 twin of the document (every float widened, same values) so "
        "that finite differences are accurate: the relative error must stay under 1e-5. "
        "The error column is the largest absolute difference for outputs and the "
        "relative error for gradients. A param with more than 32 elements is compared on "
        "32 of them, drawn with `--seed` (the row says so), which keeps `check` linear in "
        "the size of the model. A document without `training` gets output rows only.",
        ("nnspec check logistic_regression.json",),
        exits=(
            (0, "everything agrees"),
            (1, "some row disagrees, or the document is invalid"),
            (2, "unreadable document or usage error"),
        ),
        notes="Steps such as `sign` and kinks such as ReLU at 0 make finite differences "
        "meaningless right at the kink; random inputs rarely land there. The gradient "
        "errors are elided here (`≪ bound`): their digits depend on the CPU, the BLAS "
        "kernels and the thread count.",
        elide=((r"\d\.\de[-+]\d\d(?=  +\d+e-\d+ +ok)", "≪ bound"),),
    ),
    Page(
        "import",
        "Reads an ONNX model as data (no external file outside the model's folder, size "
        "limits as for documents) and writes the nnspec document it computes: layers "
        "recovered as `dense` where the pattern is exact, BatchNormalization folded, "
        "constant shape sub-graphs folded, symbolic dims kept. Weights are written bit "
        "for bit, inline for small models and in FILE's stem + `.weights.npz` past "
        "10,000 elements (or always with `--weights`). The written document is loaded "
        "back through every check. What nnspec cannot represent is reported all at once "
        "(codes NN7xx in [errors.md](../errors.md)); `--output` keeps only some outputs, "
        "e.g. a classifier's probabilities without its label. `--verify` compares as "
        "`nnspec export --verify` does; `nnspec check MODEL.onnx` verifies without "
        "writing. See [onnx.md](../onnx.md). Needs the `onnx` extra.",
        (
            "nnspec export mlp.json -o mlp.onnx",
            "nnspec import mlp.onnx -o imported.json --verify",
            "head -n 12 imported.json",
        ),
        exits=(
            (0, "written (and, with `--verify`, everything agrees)"),
            (1, "the model cannot be imported (located problems), or a disagreement"),
            (2, "unreadable model, usage error, or an output that would overwrite an input"),
        ),
        notes="The onnxruntime error is elided here (`≪ bound`): its digits depend on the "
        "CPU and the BLAS kernels.",
        elide=_ORT_ERROR,
    ),
    Page(
        "export",
        "Writes a document's inference graph (the nodes its `outputs` need; a training "
        "loss is not exported) as an ONNX model at opset 20, with the document's param "
        "values, checked by `onnx.checker` (full check). `--verify` runs onnxruntime on "
        "the written model, the interpreter and the compiled module on random inputs "
        "(symbolic dims set to `--batch`) and prints their differences: the compiled "
        "module must equal the interpreter bitwise, onnxruntime must stay within the "
        "stated bound of the scaled error max|a - b| / max(1, max|b|). The op mapping is "
        "in [onnx.md](../onnx.md). Needs the `onnx` extra.",
        ("nnspec export xor.json -o xor.onnx --verify",),
        exits=(
            (0, "written (and, with `--verify`, everything agrees)"),
            (1, "invalid document, a graph that cannot be exported, or a disagreement"),
            (2, "unreadable document, usage error, or an output that would overwrite an input"),
        ),
        notes="The onnxruntime error is elided here (`≪ bound`): its digits depend on the "
        "CPU and the BLAS kernels.",
        elide=_ORT_ERROR,
    ),
    Page(
        "completion",
        "Prints the tab-completion script for bash, zsh or fish. Completion comes from "
        'argcomplete (install the extra: `pip install "nnspec[completion]"`): the '
        "script asks `nnspec` itself, so it completes every command, option, choice "
        "(`--format` values, shells, data sets) and file name, and never drifts from the "
        "installed version. Add one line to your shell's start-up file: "
        '`eval "$(nnspec completion bash)"` in `~/.bashrc`, '
        '`eval "$(nnspec completion zsh)"` in `~/.zshrc`, or '
        "`nnspec completion fish | source` in `~/.config/fish/config.fish`.",
        ("nnspec completion bash | head -n 1",),
        exits=(
            (0, "printed"),
            (2, "usage error, or argcomplete is not installed"),
        ),
    ),
)
