// Classification metrics over a confusion matrix, one library: precision, recall (also
// registered as sensitivity), specificity, f1, fbeta and confusion_matrix. All of them stream
// the same k×k count matrix (confusion.hpp), so each is exact over a whole evaluation set,
// and differ only in the per-class rate they derive and how they average it (rates.hpp;
// scikit-learn's precision_recall_fscore_support semantics; Sokolova & Lapalme, "A
// systematic analysis of performance measures for classification tasks", 2009).
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "confusion.hpp"
#include "plexus/plexus.hpp"
#include "rates.hpp"

namespace {

using plexus::metrics::Average;
using plexus::metrics::OneVsRest;

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr plexus::ParamSpec kAverage = {
    "average",
    plexus::ParamType::choice,
    "auto",
    0,
    0,
    "auto|binary|micro|macro|weighted|none",
    "auto: binary for two classes (or one logit column), else macro; none: one value per class"};
constexpr plexus::ParamSpec kPositive = {
    "positive",
    plexus::ParamType::string,
    "auto",
    0,
    0,
    nullptr,
    "the class id scored against all others when average=binary; auto: 1, on two classes only"};
constexpr plexus::ParamSpec kZeroDivision = {
    "zero_division",
    plexus::ParamType::choice,
    "0",
    0,
    0,
    "0|1",
    "value of a rate whose denominator is 0 (e.g. precision of a class never predicted)"};
constexpr plexus::ParamSpec kBeta = {
    "beta",
    plexus::ParamType::real,
    "1",
    0,
    kInf,
    nullptr,
    "weight of recall: beta > 1 favours recall, beta < 1 precision",
    plexus::kMinExclusive};

constexpr plexus::ParamSpec kRateParams[] = {kAverage, kPositive, kZeroDivision};
constexpr plexus::ParamSpec kFBetaParams[] = {kAverage, kPositive, kZeroDivision, kBeta};

// One per-class rate averaged over classes. Subclasses give only the rate.
class RateMetric : public plexus::Metric {
public:
    void build(const plexus::Shape& pred, plexus::Device& device) final {
        counts_.build(name_, pred, device);
        const std::size_t k = counts_.classes();
        average_ = requested_.value_or(k == 2 ? Average::binary : Average::macro);
        positive_ = parse_positive(name_, positive_text_);
        const bool positive_given = positive_text_ != "auto";
        // With more than two classes "binary" scores one class of many: which one must be
        // said, or the result is silently class 1's.
        if (average_ == Average::binary && !positive_given && k > 2)
            throw plexus::ParamError(std::string(name_) + " average=binary: the model has " +
                                     std::to_string(k) +
                                     " classes, so name the class scored against the others "
                                     "(positive=0.." +
                                     std::to_string(k - 1) +
                                     ") or average over them (average=macro, micro or weighted)");
        if (average_ == Average::binary && positive_ >= k)
            throw plexus::ParamError(std::string(name_) +
                                     ": positive=" + std::to_string(positive_) +
                                     " is not a class of this model (" + std::to_string(k) +
                                     " classes: 0.." + std::to_string(k - 1) + ")");
    }

    void reset() final { counts_.reset(); }

    void update(const plexus::Tensor& pred, const plexus::Tensor& target) final {
        counts_.update(pred, target);
    }

    // "precision", or "precision_0", "precision_1", ... with average=none.
    plexus::MetricValues result() const final {
        const std::vector<OneVsRest> classes = per_class();
        if (average_ != Average::none) {
            const auto rate = [this](const OneVsRest& c) { return score(c); };
            return {{name_, plexus::metrics::average_score(average_, classes, positive_,
                                                           zero_division_, rate)}};
        }
        plexus::MetricValues values;
        for (std::size_t c = 0; c < classes.size(); ++c)
            values.emplace_back(std::string(name_) + "_" + std::to_string(c), score(classes[c]));
        return values;
    }

    // "per_class": one row per class, columns this rate and the support (true rows).
    std::vector<plexus::MetricTable> tables() const final {
        plexus::MetricTable table =
            counts_.table("per_class", "class", "statistic", {name_, "support"});
        for (const OneVsRest& c : per_class()) {
            table.values.push_back(score(c));
            table.values.push_back(static_cast<double>(c.support()));
        }
        return {table};
    }

protected:
    RateMetric(const plexus::Params& params, const char* name)
        : name_(name),
          requested_(plexus::metrics::parse_average(params.get_string("average"))),
          positive_text_(params.get_string("positive")),
          zero_division_(params.get_string("zero_division") == "1" ? 1.0 : 0.0) {}

    double zero_division() const { return zero_division_; }

private:
    virtual double score(const OneVsRest& counts) const = 0;

    std::vector<OneVsRest> per_class() const {
        std::vector<OneVsRest> out;
        for (std::size_t c = 0; c < counts_.classes(); ++c) out.push_back(counts_.one_vs_rest(c));
        return out;
    }

    // "auto" is class 1 (scikit-learn's pos_label); otherwise a class id.
    static std::size_t parse_positive(const char* name, const std::string& text) {
        if (text == "auto") return 1;
        std::size_t id = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec != std::errc() || end != text.data() + text.size())
            throw plexus::ParamError(std::string(name) + ": positive='" + text +
                                     "' is not a class id (0, 1, ...) or auto");
        return id;
    }

    const char* name_;
    std::optional<Average> requested_;  // nullopt: auto
    Average average_ = Average::macro;
    std::string positive_text_;
    std::size_t positive_ = 1;
    double zero_division_;
    plexus::metrics::ConfusionCounts counts_;
};

// Precision tp / (tp + fp): of the rows predicted as a class, the fraction that are.
class Precision final : public RateMetric {
public:
    explicit Precision(const plexus::Params& params) : RateMetric(params, "precision") {}

private:
    double score(const OneVsRest& c) const override {
        return plexus::metrics::precision_of(c, zero_division());
    }
};

// Recall tp / (tp + fn): of the rows of a class, the fraction found. Medicine calls it
// sensitivity, so it is registered under both names and reports the name it was asked by.
class Recall : public RateMetric {
public:
    explicit Recall(const plexus::Params& params, const char* name = "recall")
        : RateMetric(params, name) {}

private:
    double score(const OneVsRest& c) const override {
        return plexus::metrics::recall_of(c, zero_division());
    }
};

class Sensitivity final : public Recall {
public:
    explicit Sensitivity(const plexus::Params& params) : Recall(params, "sensitivity") {}
};

// Specificity tn / (tn + fp): of the rows not of a class, the fraction not predicted as it —
// the recall of the negatives, the partner of sensitivity in diagnostic screening.
class Specificity final : public RateMetric {
public:
    explicit Specificity(const plexus::Params& params) : RateMetric(params, "specificity") {}

private:
    double score(const OneVsRest& c) const override {
        return plexus::metrics::specificity_of(c, zero_division());
    }
};

// F-beta (van Rijsbergen, "Information Retrieval", 1979): the weighted harmonic mean of
// precision and recall, recall counting beta times as much; f1 is beta = 1.
class FBeta : public RateMetric {
public:
    explicit FBeta(const plexus::Params& params)
        : FBeta(params, "fbeta", params.get_real("beta")) {}

protected:
    FBeta(const plexus::Params& params, const char* name, double beta)
        : RateMetric(params, name), beta_(beta) {}

private:
    double score(const OneVsRest& c) const override {
        return plexus::metrics::f_beta_of(c, beta_, zero_division());
    }

    double beta_;
};

class F1 final : public FBeta {
public:
    explicit F1(const plexus::Params& params) : FBeta(params, "f1", 1.0) {}
};

// The confusion matrix itself, as a table: rows true classes, columns predicted classes. It
// has no scalar of its own (accuracy is the trace over the total; use the accuracy metric).
class ConfusionMatrix final : public plexus::Metric {
public:
    explicit ConfusionMatrix(const plexus::Params&) {}

    void build(const plexus::Shape& pred, plexus::Device& device) override {
        counts_.build("confusion_matrix", pred, device);
    }
    void reset() override { counts_.reset(); }
    void update(const plexus::Tensor& pred, const plexus::Tensor& target) override {
        counts_.update(pred, target);
    }
    plexus::MetricValues result() const override { return {}; }

    std::vector<plexus::MetricTable> tables() const override {
        const std::size_t k = counts_.classes();
        plexus::MetricTable table =
            counts_.table("confusion_matrix", "true class", "predicted class", counts_.labels());
        for (std::size_t t = 0; t < k; ++t)
            for (std::size_t p = 0; p < k; ++p)
                table.values.push_back(static_cast<double>(counts_.count(t, p)));
        return {table};
    }

private:
    plexus::metrics::ConfusionCounts counts_;
};

}  // namespace

PLEXUS_PLUGIN(
    plexus::component<Precision>("precision", "0.1.0",
                                 "tp / (tp + fp) over the whole set, averaged over classes",
                                 kRateParams),
    plexus::component<Recall>("recall", "0.1.0",
                              "tp / (tp + fn) over the whole set, averaged over classes",
                              kRateParams),
    plexus::component<Sensitivity>("sensitivity", "0.1.0",
                                   "recall under its diagnostic name: tp / (tp + fn)", kRateParams),
    plexus::component<Specificity>("specificity", "0.1.0",
                                   "tn / (tn + fp) over the whole set, averaged over classes",
                                   kRateParams),
    plexus::component<F1>("f1", "0.1.0", "harmonic mean of precision and recall", kRateParams),
    plexus::component<FBeta>("fbeta", "0.1.0",
                             "weighted harmonic mean of precision and recall (recall beta times "
                             "as important)",
                             kFBetaParams),
    plexus::component<ConfusionMatrix>("confusion_matrix", "0.1.0",
                                       "counts of (true class, predicted class) over the whole "
                                       "set, as a table"))
