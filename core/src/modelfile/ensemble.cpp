#include "plexus/core/modelfile/ensemble.hpp"

#include <algorithm>
#include <cmath>

#include "plexus/plexus.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {

namespace {

std::string shown(const std::string& name) {
    return support::printable(name, support::kMaxShownPathBytes);
}

// A member's class for one sample: what `plexus predict` prints for it alone.
std::size_t class_of(const float* p, std::size_t cols) {
    if (cols == 1) return p[0] > 0.5f ? 1 : 0;
    return static_cast<std::size_t>(std::max_element(p, p + cols) - p);
}

}  // namespace

void check_members(const std::vector<std::unique_ptr<SavedModel>>& members,
                   const std::vector<std::string>& names) {
    if (members.empty()) throw ConfigError("an ensemble needs at least one model");
    const SavedModel& a = *members.front();
    const auto fail = [&](std::size_t i, const std::string& what) {
        throw DataError(shown(names.front()) + " and " + shown(names[i]) + " differ: " + what +
                        "; an ensemble's members must be trained for the same inputs and "
                        "targets");
    };
    const auto list = [](const std::vector<std::string>& v) {
        return support::join_for_message(v, 12);
    };
    for (std::size_t i = 0; i < members.size(); ++i) {
        const SavedModel& b = *members[i];
        if (members.size() > 1 && b.card.target == "input")
            throw DataError(shown(names[i]) +
                            ": an autoencoder (target = input) cannot be an ensemble member");
        if (i == 0) continue;
        if (a.card.input_shape != b.card.input_shape)
            fail(i, "samples " + a.card.input_shape.str() + " against " +
                        b.card.input_shape.str());
        if (a.card.target != b.card.target)
            fail(i, "they predict " + a.card.target + " against " + b.card.target);
        if (a.card.classes != b.card.classes)
            fail(i, std::to_string(a.card.classes) + " classes against " +
                        std::to_string(b.card.classes));
        if (a.card.class_names != b.card.class_names)
            fail(i, "classes " + list(a.card.class_names) + " against " +
                        list(b.card.class_names));
        if (a.card.target_names != b.card.target_names)
            fail(i, "float targets " + list(a.card.target_names) + " against " +
                        list(b.card.target_names));
        if (a.output_columns() != b.output_columns())
            fail(i, std::to_string(a.output_columns()) + " output columns against " +
                        std::to_string(b.output_columns()));
    }
}

std::unique_ptr<Ensemble> make_ensemble(std::vector<std::unique_ptr<SavedModel>> members,
                                        std::vector<std::string> names, const std::string& method,
                                        std::vector<double> weights) {
    if (names.size() != members.size()) names.resize(members.size());
    check_members(members, names);
    if (method != "average" && method != "vote" && method != "weighted")
        throw ConfigError("--method " + support::quote_for_message(method, 40) +
                          " is not average, vote or weighted");
    if (method == "vote" && members.front()->float_targets())
        throw ConfigError("--method vote needs class predictions; the members predict float "
                          "targets (use average or weighted)");
    if (method != "weighted" && !weights.empty())
        throw ConfigError("--weights is only for --method weighted");
    if (weights.empty()) weights.assign(members.size(), 1.0);
    if (weights.size() != members.size())
        throw ConfigError(std::to_string(weights.size()) + " weights for " +
                          std::to_string(members.size()) + " members; give one per member");
    double sum = 0.0;
    for (double w : weights) {
        if (!std::isfinite(w) || w < 0.0 || w > 1e6)
            throw ConfigError("weight " + std::to_string(w) +
                              " is not a finite number in [0, 1e6]");
        sum += w;
    }
    if (!(sum > 0.0)) throw ConfigError("the weights sum to 0; give at least one positive");
    for (double& w : weights) w /= sum;
    auto e = std::make_unique<Ensemble>();
    e->file = members.front()->file;
    e->method = method;
    e->weights = std::move(weights);
    e->batch = members.front()->batch;
    e->members = std::move(members);
    e->names = std::move(names);
    return e;
}

Dataset Ensemble::reference() const { return members.front()->reference(); }

void Ensemble::warm_up() {
    for (auto& m : members) m->warm_up();
}

void Ensemble::add_member_output(std::size_t m, const std::vector<float>& one,
                                 std::vector<double>& sum) const {
    const std::size_t cols = output_columns();
    if (method == "vote") {
        // One vote per member; one binary column holds the share voting for class 1.
        for (std::size_t i = 0; i < one.size() / cols; ++i) {
            const std::size_t k = class_of(one.data() + i * cols, cols);
            sum[i * cols + (cols == 1 ? 0 : k)] += cols == 1 ? double(k) : 1.0;
        }
        return;
    }
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += weights[m] * double(one[i]);
}

void Ensemble::finish_combined(const std::vector<double>& sum, std::vector<float>& out) const {
    out.resize(sum.size());
    const double votes = static_cast<double>(members.size());
    for (std::size_t i = 0; i < sum.size(); ++i)
        out[i] = static_cast<float>(method == "vote" ? sum[i] / votes : sum[i]);
}

void Ensemble::predict(const Dataset& data, const std::vector<std::uint32_t>& ids,
                       std::vector<float>& out) {
    if (single()) return members.front()->predict(data, ids, out);
    std::vector<double> sum(ids.size() * output_columns(), 0.0);
    std::vector<float> one;
    for (std::size_t m = 0; m < members.size(); ++m) {
        members[m]->predict(data, ids, one);
        add_member_output(m, one, sum);
    }
    finish_combined(sum, out);
}

void Ensemble::check_scorable(const Dataset& data, const std::vector<std::uint32_t>& ids,
                              bool scoring) const {
    if (data.unlabeled && scoring)
        throw DataError(data.source + ": has no labels; evaluating needs them (plexus predict "
                        "runs a model on unlabelled data)");
    if (data.unlabeled) return;  // nothing to score: predictions only
    const std::size_t cols = output_columns();
    if (float_targets()) {
        if (data.target_width != cols)
            throw DataError(data.source + ": samples have " + std::to_string(data.target_width) +
                            " float targets, the ensemble predicts " + std::to_string(cols));
        return;
    }
    for (const auto i : ids)
        if (data.labels[i] >= std::max<std::size_t>(cols, 2))
            throw DataError(data.source + ": holds labels the model's " + std::to_string(cols) +
                            " outputs cannot score");
}

void Ensemble::evaluate(const Dataset& data, const std::vector<std::uint32_t>& ids,
                        const std::vector<std::shared_ptr<Metric>>& metrics,
                        std::vector<float>* out) {
    if (single()) return members.front()->evaluate(data, ids, metrics, out);
    check_scorable(data, ids, !metrics.empty());
    std::vector<float> combined;
    predict(data, ids, combined);
    score(data, ids, combined, metrics);
    if (out) *out = std::move(combined);
}

void Ensemble::evaluate_outputs(const Dataset& data, const std::vector<std::uint32_t>& ids,
                                const std::vector<std::vector<float>>& member_outputs,
                                const std::vector<std::shared_ptr<Metric>>& metrics,
                                std::vector<float>* out) const {
    const std::size_t n = ids.size() * output_columns();
    if (member_outputs.size() != members.size())
        throw Error("ensemble: " + std::to_string(member_outputs.size()) + " members' outputs for " +
                    std::to_string(members.size()) + " members");
    for (const auto& one : member_outputs)
        if (one.size() != n)
            throw Error("ensemble: a member's output holds " + std::to_string(one.size()) +
                        " values, not " + std::to_string(n));
    check_scorable(data, ids, !metrics.empty());
    std::vector<double> sum(n, 0.0);
    for (std::size_t m = 0; m < members.size(); ++m) add_member_output(m, member_outputs[m], sum);
    std::vector<float> combined;
    finish_combined(sum, combined);
    score(data, ids, combined, metrics);
    if (out) *out = std::move(combined);
}

void Ensemble::score(const Dataset& data, const std::vector<std::uint32_t>& ids,
                     const std::vector<float>& combined,
                     const std::vector<std::shared_ptr<Metric>>& metrics) const {
    const std::size_t cols = output_columns();
    const bool values = float_targets();
    Device& device = *members.front()->device;
    const Shape out_shape = members.front()->model.output_shape();
    for (auto& m : metrics) {
        m->build(out_shape, device);
        m->reset();
    }
    if (metrics.empty()) return;
    const Tensor y = device.alloc(out_shape), t = device.alloc(Shape{batch, cols});
    std::vector<float> yh(batch * cols), th(batch * cols);
    for (std::size_t begin = 0; begin < ids.size(); begin += batch) {
        const std::size_t rows = std::min(batch, ids.size() - begin);
        std::fill(th.begin(), th.end(), 0.0f);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = ids[begin + r];
            const float* p = combined.data() + (begin + r) * cols;
            for (std::size_t c = 0; c < cols; ++c) {
                float& yv = yh[r * cols + c];
                if (values) {
                    yv = p[c];
                    th[r * cols + c] = data.targets[i * cols + c] +
                                       (data.target_base.empty() ? 0.0f
                                                                 : data.target_base[i * cols + c]);
                    continue;
                }
                // Logits whose softmax (sigmoid) are the combined probabilities; a probability
                // of 0 (no vote) stays far below every other class.
                const float q = std::clamp(p[c], 1e-30f, 1.0f);
                yv = cols == 1 ? std::log(q) - std::log(std::max(1.0f - p[c], 1e-30f))
                               : std::log(q);
            }
            if (!values) th[r * cols + (cols == 1 ? 0 : data.labels[i])] = cols == 1
                                                                             ? float(data.labels[i])
                                                                             : 1.0f;
        }
        const Tensor yb = y.rows(0, rows), tb = t.rows(0, rows);
        device.upload(yb, std::span<const float>(yh.data(), rows * cols));
        device.upload(tb, std::span<const float>(th.data(), rows * cols));
        for (auto& m : metrics) m->update(yb, tb);
    }
}

}  // namespace plexus::core
