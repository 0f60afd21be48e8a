#!/usr/bin/python3
"""Independent checks of `plexus export --onnx` for test_onnx_export (run by /usr/bin/python3).

  onnx_check.py probe                       exit 0 when onnx, cv2 and numpy import, else print
                                            what is missing and exit 77
  onnx_check.py data DIR IRIS_CSV           write the tests' data sets as .npy files in DIR
  onnx_check.py compare MODEL.onnx X.npy PREDICTIONS.csv probabilities|values

compare runs onnx.checker.check_model on the file, then OpenCV's dnn module
(cv2.dnn.readNetFromONNX, Debian's OpenCV 4.6) on X, and compares its outputs with the columns
plexus predict wrote: max abs difference <= 1e-5 on probabilities, and for values <= 1e-5
relative to max(1, |value|). It prints one line per check and exits 1 on any failure.
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


def compare(model_path, x_path, predictions, kind):
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
    net = cv2.dnn.readNetFromONNX(model_path)
    net.setInput(x)
    got = np.asarray(net.forward(), dtype=np.float64).reshape(len(x), -1)
    if got.shape != want.shape:
        print("opencv %s: output %s, predict wrote %s" % (cv2.__version__, got.shape, want.shape))
        return 1
    diff = np.abs(got - want)
    if kind == "values":
        diff = diff / np.maximum(1.0, np.abs(want))
    worst = float(diff.max())
    ok = worst <= 1e-5
    print("opencv %s dnn: %d samples, max %s difference %.3g against plexus predict: %s" %
          (cv2.__version__, len(x), "abs" if kind == "probabilities" else "relative", worst,
           "ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "probe":
        return probe()
    if len(argv) == 4 and argv[1] == "data":
        return data(argv[2], argv[3])
    if len(argv) == 6 and argv[1] == "compare":
        return compare(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
