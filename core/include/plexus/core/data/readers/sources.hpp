// Data sources named in an experiment file: `train = SCHEME:PATH [key=value ...]`.
// One dispatcher (load_dataset) and one reader per format: IDX (idx.hpp), CSV, NumPy .npy,
// folders of images and time series (series.hpp).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "plexus/core/data/dataset.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// Largest class id a label file may hold; a bigger id almost always means the wrong column.
inline constexpr std::size_t kMaxClassId = 65535;

/// Longest class name or float-target name, in bytes, that a reader accepts and a model file
/// may hold: a longer label is a wrong column or a damaged file, not a class.
inline constexpr std::size_t kMaxNameBytes = 4096;

/// Largest image side an image folder is loaded at (size=HxW, or the first image's size).
inline constexpr std::size_t kMaxImageSide = 16384;

/// For each class of a freshly loaded dataset, where it was first seen, e.g. "iris.csv:17";
/// match_classes uses it to point at a label the training data does not know.
using ClassOrigins = std::vector<std::string>;

struct CsvOptions {
    std::string label;  // column name or 0-based index; empty: the last column
    /// Float target columns (regression), names or 0-based indices; excludes `label`.
    std::vector<std::string> targets;
    /// Feature columns, in this order; empty: every column but the label or the targets.
    std::vector<std::string> columns;
    char delimiter = ',';
    bool header = true;  // the first record names the columns
    /// No label or target column: every column (or `columns`) is a feature and the dataset
    /// is `unlabeled` (csv:PATH label=none, for predict).
    bool no_label = false;
    /// When nonzero, a file of exactly this many columns (and no label= or columns= given)
    /// is read as no_label: new data with only the model's features.
    std::size_t unlabeled_columns = 0;
};

/// Reads a CSV file (RFC 4180 quoting, LF or CRLF, optional UTF-8 BOM; blank lines and
/// blanks around cells are ignored). The feature columns (`columns`, else every column but
/// the label or targets) are floats: sample_shape = [features], storage f32.
/// Classification (no `targets`): labels that are all non-negative integers are class ids
/// (class_names "0", "1", ... up to the largest); otherwise the distinct strings, sorted,
/// are the classes. Regression (`targets`): target_width = targets.size(), targets holds the
/// finite float values row by row, target_names the header's names ("t0", ... without a
/// header), no labels. Throws DataError "PATH:LINE: ..." on malformed content (a cell that is
/// not a finite number names its column) and ConfigError "PATH: ..." when an option names no
/// column, a column twice, a feature that is also the label or a target, or both `label` and
/// `targets` are given.
Dataset load_csv(const std::filesystem::path& path, const CsvOptions& options = {},
                 ClassOrigins* origins = nullptr);

struct NpyOptions {
    std::filesystem::path labels;   // a 1-D (or [N, 1]) .npy of class ids
    std::filesystem::path targets;  // or a [N] or [N, k] .npy of float targets; exactly one
    bool unlabeled = false;         // or neither: samples alone (`unlabeled`), for predict
};

/// Reads a C-order .npy array (format 1.0 or 2.0) of <f4 or <f8 (stored as float32) or u1
/// (kept as uint8) with shape [N, ...], and either its labels: integer dtypes (i1..i8,
/// u1..u8) or floats with integral values, N of them (class_names "0", "1", ... up to the
/// largest id); or its float targets: shape [N] (target_width 1) or [N, k], any integer or
/// float dtype, every value finite as float32, target_names "t0", ... sample_shape = shape
/// without N. Throws ConfigError when both or neither of labels and targets are given, and
/// DataError "PATH: ..." on any problem in a file, including a file size that does not match
/// the header exactly.
Dataset load_npy(const std::filesystem::path& path, const NpyOptions& options,
                 ClassOrigins* origins = nullptr);

struct ImageFolderOptions {
    std::size_t height = 0, width = 0;  // 0: the first image's size
    std::size_t channels = 0;           // 1 or 3; 0: 3 if any image has colour, else 1
};

/// Reads DIR/CLASS/IMAGE: one subfolder per class (sorted by name; hidden ones skipped),
/// images (.png .jpg .jpeg .bmp .gif .tga .pgm .ppm .pnm) sorted by name within each;
/// other files and nested folders are skipped. Each image is decoded with stb_image,
/// converted to `channels` (luma 0.299/0.587/0.114 for colour to gray, gray replicated
/// for colour; alpha dropped) and resized bilinearly to height x width. Storage u8,
/// sample_shape [C, H, W] (channel planes). Throws DataError naming the folder or file.
Dataset load_image_folder(const std::filesystem::path& dir, const ImageFolderOptions& options = {},
                          ClassOrigins* origins = nullptr);
/// Reads DIR/IMAGE: a folder of images without class subfolders (sorted by name; the same
/// decoding as load_image_folder), as an `unlabeled` dataset, for predict. Throws DataError
/// naming the folder when it holds no image.
Dataset load_unlabeled_images(const std::filesystem::path& dir,
                              const ImageFolderOptions& options = {});

/// Renumbers `data`'s labels to `reference`'s class ids, matching classes by name, so that a
/// test set whose classes appear in another order (or only some of them) agrees with the
/// training set; afterwards data.classes and data.class_names are the reference's. When the
/// names do not all match but `data`'s classes are plain ids ("0", "1", ...), the ids are
/// kept if the reference has that many classes (e.g. Fashion-MNIST, whose classes are
/// named). A class the reference lacks is a DataError "ORIGIN: label 'X' is not ...".
void match_classes(Dataset& data, const Dataset& reference, const ClassOrigins& origins);

/// Loads the dataset an experiment file names. `spec` is `SCHEME:PATH [key=value ...]`
/// where PATH runs to the first blank and is relative to `base_dir` (empty: the current
/// folder):
///   idx:PREFIX                                  (see load_idx_dataset)
///   csv:PATH [label=NAME|INDEX | target=NAME|INDEX[,...]] [columns=NAME|INDEX[,...]]
///            [delimiter=C|comma|tab|semicolon|space|pipe] [header=true|false]
///   npy:PATH labels=PATH | targets=PATH
///   dir:PATH [size=HxW] [channels=1|3]
///   series:PATH target=NAME[,...] window=W [horizon=H] [stride=S] [columns=NAME[,...]]
///            [relative=true|false] [time=NAME] [delimiter=C]       (see load_series)
/// `where` ("file:line", may be empty) prefixes ConfigErrors about the spec: an unknown
/// scheme or option key, or a bad value, each naming the valid choices. With `reference`
/// (the training set, when loading a test or validation set) class ids follow its class
/// names (match_classes) and image folders are brought to its [C, H, W]; a set whose kind of
/// target (class ids or float targets, their width and names) differs from the reference's
/// is a DataError naming both.
/// With `allow_unlabeled` (predict), new data without labels is read as an `unlabeled`
/// dataset: `csv:PATH label=none` (or a CSV with exactly the reference's feature columns),
/// `npy:PATH` without labels= or targets=, a `dir:` folder of images with no class
/// subfolders. Without it those stay errors (training needs labels).
Dataset load_dataset(const std::string& spec, const std::filesystem::path& base_dir,
                     const std::string& where, const Dataset* reference = nullptr,
                     bool allow_unlabeled = false);

}  // namespace plexus::core

#pragma GCC visibility pop
