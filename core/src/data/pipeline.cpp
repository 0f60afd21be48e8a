#include "plexus/core/data/pipeline.hpp"

#include <algorithm>
#include <map>
#include <new>

#include "plexus/error.hpp"
#include "plexus/support/checked.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {
namespace {

// Rows fitted per chunk: large enough to amortise the calls, small enough to stay in cache.
constexpr std::size_t kFitChunk = 1024;
// Each of the two ping-pong buffers; sample shapes come from files and model cards.
constexpr std::size_t kMaxBufferFloats = std::size_t{1} << 34;

std::string stage_name(std::size_t i, const std::string& spec) {
    return "transform " + std::to_string(i + 1) + " (" + spec + ")";
}

}  // namespace

void Pipeline::add(std::shared_ptr<Transform> transform, std::string spec) {
    stages_.push_back({std::move(transform), {}, {}});
    specs_.push_back(std::move(spec));
}

bool Pipeline::augments() const {
    return std::any_of(stages_.begin(), stages_.end(),
                       [](const Stage& s) { return s.transform->train_only(); });
}

Shape Pipeline::build(const Shape& sample, std::size_t max_rows, float divide, std::uint64_t seed) {
    input_ = sample;
    divide_ = divide;
    seed_ = seed;
    max_rows_ = std::max<std::size_t>(max_rows, kFitChunk);
    std::size_t widest = sample.numel();
    Shape shape = sample;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        Stage& s = stages_[i];
        s.input = shape;
        try {
            s.output = s.transform->build(shape);
        } catch (const Error& e) {
            throw ShapeError(stage_name(i, specs_[i]) + ": samples " + shape.str() + ": " +
                             e.what());
        }
        if (s.transform->train_only() && s.output != s.input)
            throw ShapeError(stage_name(i, specs_[i]) +
                             ": augmentation must keep the sample shape " + s.input.str() +
                             ", it gives " + s.output.str());
        if (s.output.numel() == 0)
            throw ShapeError(stage_name(i, specs_[i]) + ": gives empty samples " + s.output.str());
        shape = s.output;
        widest = std::max(widest, shape.numel());
    }
    output_ = shape;
    std::size_t floats = 0;
    if (!support::checked_mul(max_rows_, widest, floats) || floats > kMaxBufferFloats)
        throw ShapeError("the transforms' buffers for " + std::to_string(max_rows_) +
                         " samples of up to " + std::to_string(widest) +
                         " values exceed 2^34 floats (64 GiB); use smaller samples or batches");
    try {
        for (auto& b : buf_) b.assign(floats, 0.0f);
    } catch (const std::bad_alloc&) {
        throw ShapeError("out of memory for the transforms' buffers: " + std::to_string(max_rows_) +
                         " samples of up to " + std::to_string(widest) + " values");
    }
    return output_;
}

void Pipeline::gather(const Dataset& data, const std::uint32_t* ids, std::size_t count,
                      float* out) const {
    const std::size_t f = input_.numel();
    if (data.features() != f)
        throw DataError(data.source + ": samples have " + std::to_string(data.features()) +
                        " values, the model was built for " + std::to_string(f));
    if (!data.u8.empty()) {
        const float scale = 1.0f / divide_;
        for (std::size_t r = 0; r < count; ++r) {
            const std::uint8_t* src = data.u8.data() + std::size_t(ids[r]) * f;
            float* dst = out + r * f;
            for (std::size_t j = 0; j < f; ++j) dst[j] = static_cast<float>(src[j]) * scale;
        }
    } else {
        for (std::size_t r = 0; r < count; ++r)
            std::copy_n(data.f32.data() + std::size_t(ids[r]) * f, f, out + r * f);
    }
}

const float* Pipeline::run(std::size_t end, std::size_t count, Mode mode, std::uint64_t epoch,
                           const std::uint32_t* ids, float* out) {
    // The last stage that runs writes straight into `out`; the others ping-pong.
    std::size_t last = end;
    for (std::size_t i = 0; i < end; ++i)
        if (mode == Mode::train || !stages_[i].transform->train_only()) last = i;
    int cur = 0;
    for (std::size_t i = 0; i < end; ++i) {
        const Stage& s = stages_[i];
        if (mode == Mode::infer && s.transform->train_only()) continue;
        ApplyContext context;
        // Each stage draws its own stream: the run seed mixed with the stage's position.
        context.seed = seed_ ^ (0x9E3779B97F4A7C15ULL * (i + 1));
        context.epoch = epoch;
        context.sample_ids = ids;
        float* dst = (i == last && out) ? out : buf_[1 - cur].data();
        s.transform->apply(buf_[cur].data(), dst, count, mode, context);
        if (dst == out) return out;
        cur = 1 - cur;
    }
    if (out) {
        const std::size_t f = end ? stages_[end - 1].output.numel() : input_.numel();
        std::copy_n(buf_[cur].data(), count * f, out);
        return out;
    }
    return buf_[cur].data();
}

void Pipeline::prepare(const Dataset& data, const std::uint32_t* ids, std::size_t count, Mode mode,
                       std::uint64_t epoch, float* out) {
    if (count > max_rows_)
        throw Error("pipeline: batch of " + std::to_string(count) + " rows, built for " +
                    std::to_string(max_rows_));
    if (stages_.empty()) {
        gather(data, ids, count, out);
        return;
    }
    gather(data, ids, count, buf_[0].data());
    run(stages_.size(), count, mode, epoch, ids, out);
}

std::vector<std::string> Pipeline::fit(const Dataset& data, const std::vector<std::uint32_t>& ids) {
    std::vector<std::string> warnings;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        Transform& t = *stages_[i].transform;
        if (!t.needs_fit()) continue;
        t.fit_begin();
        for (std::size_t begin = 0; begin < ids.size(); begin += kFitChunk) {
            const std::size_t n = std::min(kFitChunk, ids.size() - begin);
            gather(data, ids.data() + begin, n, buf_[0].data());
            t.fit_batch(run(i, n, Mode::infer, 0, ids.data() + begin, nullptr), n);
        }
        for (const auto& w : t.fit_end())
            warnings.push_back("warning: " + stage_name(i, specs_[i]) + ": " + w);
    }
    return warnings;
}

std::vector<HostTensor> Pipeline::state() const {
    std::vector<HostTensor> out;
    for (std::size_t i = 0; i < stages_.size(); ++i)
        for (auto& s : stages_[i].transform->state())
            out.push_back(
                {"transform" + std::to_string(i) + "." + s.name, s.shape, std::move(s.values)});
    return out;
}

void Pipeline::load_state(const std::vector<HostTensor>& tensors) {
    std::map<std::size_t, std::vector<TransformState>> by_stage;
    for (const auto& t : tensors) {
        if (t.name.rfind("transform", 0) != 0) continue;
        const auto dot = t.name.find('.');
        std::size_t index = stages_.size();
        try {
            index = std::stoul(t.name.substr(9, dot - 9));
        } catch (const std::exception&) {
        }
        if (dot == std::string::npos || index >= stages_.size())
            throw DataError("saved transform state " + support::quote_for_message(t.name) +
                            " belongs to no transform of this model (" +
                            std::to_string(stages_.size()) + " transforms)");
        by_stage[index].push_back({t.name.substr(dot + 1), t.shape, t.values});
    }
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        try {
            stages_[i].transform->load_state(by_stage[i]);
        } catch (const Error& e) {
            throw DataError(stage_name(i, specs_[i]) + ": " + e.what());
        }
    }
}

}  // namespace plexus::core
