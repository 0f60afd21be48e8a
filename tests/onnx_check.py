#!/usr/bin/python3
"""Independent checks of `plexus export --onnx` for test_onnx_export (run by /usr/bin/python3).

  onnx_check.py probe                       exit 0 when onnx, cv2 and numpy import, else print
                                            what is missing and exit 77
  onnx_check.py data DIR IRIS_CSV           write the tests' data sets as .npy files in DIR
  onnx_check.py compare MODEL.onnx X.npy PREDICTIONS.csv probabilities|values [numpy]

compare runs onnx.checker.check_model on the file, then OpenCV's dnn module
(cv2.dnn.readNetFromONNX, Debian's OpenCV 4.6) on X, and compares its outputs with the columns
plexus predict wrote: max abs difference <= 1e-5 on probabilities, and for values <= 1e-5
relative to max(1, |value|). With `numpy`, a graph OpenCV cannot run (its 4.6 importer lacks
what the LSTM and GRU graphs need) is evaluated by numpy_run instead, which says so. It prints
one line per check and exits 1 on any failure.
"""
import csv
import sys


def probe():
    missing = []
    for module in ("numpy", "onnx", "cv2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        print("skipped: python3 lacks " + ", ".join(missing) +
              " (apt install python3-onnx python3-opencv)")
        return 77
    return 0


def data(folder, iris_csv):
    import numpy as np
    rng = np.random.RandomState(7)
    # Iris: four float features, species names as sorted ids (plexus's csv order).
    with open(iris_csv) as f:
        rows = list(csv.reader(f))[1:]
    names = sorted({r[-1] for r in rows})
    x = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float32)
    y = np.array([names.index(r[-1]) for r in rows], dtype=np.int64)
    np.save(folder + "/iris_x.npy", x)
    np.save(folder + "/iris_y.npy", y)
    # 8x8 one-channel uint8 images of three classes: a horizontal bar, a vertical bar, a
    # diagonal, at random places, over noise.
    n = 240
    img = rng.randint(0, 60, size=(n, 1, 8, 8)).astype(np.uint8)
    labels = np.arange(n) % 3
    for i in range(n):
        k = rng.randint(1, 7)
        if labels[i] == 0:
            img[i, 0, k, :] = 200 + rng.randint(0, 55)
        elif labels[i] == 1:
            img[i, 0, :, k] = 200 + rng.randint(0, 55)
        else:
            np.fill_diagonal(img[i, 0], 200 + rng.randint(0, 55))
    np.save(folder + "/img_x.npy", img)
    np.save(folder + "/img_y.npy", labels.astype(np.int64))
    # Sequences [N, 6, 2]: the target is a weighted sum over time of the first feature plus
    # the last value of the second, in units far from 0 (the target transform matters).
    seq = rng.normal(size=(200, 6, 2)).astype(np.float32) * 3 + 10
    w = np.linspace(0.2, 1.0, 6)
    target = (seq[:, :, 0] * w).sum(axis=1) + seq[:, -1, 1] * 2 + 50
    np.save(folder + "/seq_x.npy", seq)
    np.save(folder + "/seq_y.npy", target.astype(np.float32).reshape(-1, 1))
    return 0


def predicted_columns(path, kind):
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        if kind == "probabilities":
            cols = [i for i, h in enumerate(header) if h.startswith("p_")]
        else:
            cols = [i for i, h in enumerate(header) if h.endswith("_predicted")]
        rows = [[float(r[i]) for i in cols] for r in reader]
    return rows


def numpy_run(model, x):
    """The graph evaluated with numpy, op by op from the ONNX operator specification (for the
    ops OpenCV 4.6 cannot run: its importer wants GRU's six inputs and fails on the transposes
    around LSTM). Covers the ops the exporter writes for recurrent models."""
    import numpy as np
    from onnx import numpy_helper, helper
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env["input"] = x.astype(np.float32)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    acts = {"Sigmoid": sig, "Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0)}

    def rnn(op, a, xs, w, r, b):
        t_len, n, _ = xs.shape
        dirs, gh, _ = w.shape
        hidden = a["hidden_size"]
        names = [s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [])]
        per = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
        ys = np.zeros((t_len, dirs, n, hidden), np.float32)
        for d in range(dirs):
            f = acts[names[d * per]] if names else (np.tanh if op == "RNN" else sig)
            g = acts[names[d * per + 1]] if names and per > 1 else np.tanh
            hf = acts[names[d * per + 2]] if names and op == "LSTM" else np.tanh
            wb, rb = b[d, :gh], b[d, gh:]
            h = np.zeros((n, hidden), np.float32)
            c = np.zeros((n, hidden), np.float32)
            steps = range(t_len) if d == 0 else reversed(range(t_len))
            for t in steps:
                if op == "RNN":
                    h = f(xs[t] @ w[d].T + h @ r[d].T + wb + rb)
                elif op == "LSTM":  # gates i, o, f, c
                    z = xs[t] @ w[d].T + h @ r[d].T + wb + rb
                    i, o, fg, cc = np.split(z, 4, axis=1)
                    c = f(fg) * c + f(i) * g(cc)
                    h = f(o) * hf(c)
                else:  # gates z, r, h; linear_before_reset = 1
                    xw = xs[t] @ w[d].T + wb
                    hr = h @ r[d].T + rb
                    zt = f(xw[:, :hidden] + hr[:, :hidden])
                    rt = f(xw[:, hidden:2 * hidden] + hr[:, hidden:2 * hidden])
                    ht = g(xw[:, 2 * hidden:] + rt * hr[:, 2 * hidden:])
                    h = (1 - zt) * ht + zt * h
                ys[t, d] = h
        last = np.stack([ys[-1, 0]] + ([ys[0, 1]] if dirs == 2 else []))
        return [ys, last]

    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] for i in node.input if i]
        op = node.op_type
        if op == "Mul": outs = [ins[0] * ins[1]]
        elif op == "Add": outs = [ins[0] + ins[1]]
        elif op == "Gemm":
            bm = ins[1].T if a.get("transB", 0) else ins[1]
            outs = [ins[0] @ bm + (ins[2] if len(ins) > 2 else 0)]
        elif op in acts: outs = [acts[op](ins[0])]
        elif op == "Identity": outs = [ins[0]]
        elif op == "Transpose": outs = [np.transpose(ins[0], a["perm"])]
        elif op == "Reshape":
            outs = [ins[0].reshape([len(ins[0]) if d == 0 else d for d in ins[1]])]
        elif op == "Flatten": outs = [ins[0].reshape(len(ins[0]), -1)]
        elif op == "Softmax":
            e = np.exp(ins[0] - ins[0].max(axis=a["axis"], keepdims=True))
            outs = [e / e.sum(axis=a["axis"], keepdims=True)]
        elif op in ("RNN", "LSTM", "GRU"): outs = rnn(op, a, *ins[:4])
        else: raise RuntimeError("numpy evaluation lacks op " + op)
        for name, v in zip(node.output, outs):
            env[name] = v.astype(np.float32)
    return env[model.graph.output[0].name]


def compare(model_path, x_path, predictions, kind, fallback="opencv"):
    import numpy as np
    import onnx
    import cv2
    ok = True
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    print("onnx.checker: ok (opset %s, onnx %s)" % (opset, onnx.__version__))
    x = np.load(x_path).astype(np.float32)  # uint8 pixels as their values 0..255
    want = np.array(predicted_columns(predictions, kind), dtype=np.float64)
    runtime = "opencv %s dnn" % cv2.__version__
    try:
        net = cv2.dnn.readNetFromONNX(model_path)
        net.setInput(x)
        got = np.asarray(net.forward(), dtype=np.float64).reshape(len(x), -1)
    except cv2.error as e:
        if fallback != "numpy":
            raise
        why = [line for line in str(e).splitlines() if "error" in line][-1].strip()[:160]
        print("opencv %s cannot run it (%s); numpy evaluation instead" % (cv2.__version__, why))
        runtime = "numpy (ONNX operator spec)"
        got = np.asarray(numpy_run(model, x), dtype=np.float64).reshape(len(x), -1)
    if got.shape != want.shape:
        print("%s: output %s, predict wrote %s" % (runtime, got.shape, want.shape))
        return 1
    diff = np.abs(got - want)
    if kind == "values":
        diff = diff / np.maximum(1.0, np.abs(want))
    worst = float(diff.max())
    ok = worst <= 1e-5
    print("%s: %d samples, max %s difference %.3g against plexus predict: %s" %
          (runtime, len(x), "abs" if kind == "probabilities" else "relative", worst,
           "ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "probe":
        return probe()
    if len(argv) == 4 and argv[1] == "data":
        return data(argv[2], argv[3])
    if len(argv) in (6, 7) and argv[1] == "compare":
        return compare(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
