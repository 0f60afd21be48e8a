// The fused gradient buffer and its buckets (gradient_buckets.hpp).
#include "plexus/core/training/gradient_buckets.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "steady_seconds.hpp"

namespace plexus::core {

using timing::Clock;
using timing::seconds_since;

GradientBuckets::GradientBuckets(Device& device, const Sequential& model,
                                 Communicator& communicator, std::size_t bucket_bytes,
                                 std::size_t first_bucket_bytes)
    : device_(device), model_(model), communicator_(communicator) {
    const auto& params = model.parameters();
    std::size_t values = 1;  // the loss
    std::set<const Parameter*> seen;
    for (const Parameter* p : params) {
        values += p->grad.numel();
        if (!seen.insert(p).second) can_overlap_ = false;  // one parameter, two layers
    }
    buffer_.assign(values, 0.0f);
    offset_.assign(params.size(), 0);
    bucket_ = std::max<std::size_t>(1, bucket_bytes / sizeof(float));
    first_ = std::clamp<std::size_t>(first_bucket_bytes / sizeof(float), 1, bucket_);
    total_ = values;
    communicator.reserve_sums(buckets());
}

void GradientBuckets::begin(float loss, float weight) {
    const auto& params = model_.parameters();
    // Reverse layer order: the last layer's gradients, final first, lead the buffer. Only
    // the parameters trainable now take places (unfreeze may change them between epochs; every
    // rank has the same flags, so the same places).
    std::size_t at = 1;
    for (std::size_t k = params.size(); k-- > 0;) {
        if (!params[k]->trainable) continue;
        offset_[k] = at;
        at += params[k]->grad.numel();
    }
    total_ = at;
    weight_ = weight;
    buffer_[0] = loss * weight;
    filled_ = 1;
    started_ = 0;
    count_ = 0;
    next_param_ = params.size();
    started_in_backward_ = started_early_ = 0;
}

void GradientBuckets::take_down_to(std::size_t layer) {
    const auto& params = model_.parameters();
    const auto& layers = model_.parameter_layers();
    for (; next_param_ > 0 && layers[next_param_ - 1] >= layer; --next_param_) {
        const Parameter& p = *params[next_param_ - 1];
        if (!p.trainable) continue;
        const std::span<float> place(buffer_.data() + offset_[next_param_ - 1], p.grad.numel());
        device_.download(p.grad, place);
        for (float& v : place) v *= weight_;
        filled_ = offset_[next_param_ - 1] + place.size();
    }
}

void GradientBuckets::start_complete_buckets() {
    for (std::size_t size = count_ ? bucket_ : first_; started_ + size <= filled_;
         size = bucket_) {
        communicator_.start_sum(std::span<float>(buffer_.data() + started_, size));
        started_ += size;
        ++count_;
    }
}

void GradientBuckets::gradients_done(std::size_t layer) {
    if (!can_overlap_) return;
    const auto t0 = Clock::now();
    // What was started before this notice had at least this layer's backward to run under.
    started_early_ = count_;
    take_down_to(layer);
    start_complete_buckets();
    if (started_ > 0) communicator_.test_sums();
    seconds_ += seconds_since(t0);
}

float GradientBuckets::upload_sums() {
    const auto& params = model_.parameters();
    for (std::size_t k = 0; k < params.size(); ++k) {
        const Parameter& p = *params[k];
        if (p.trainable)
            device_.upload(p.grad,
                           std::span<const float>(buffer_.data() + offset_[k], p.grad.numel()));
    }
    return buffer_[0];
}

float GradientBuckets::finish() {
    const auto t0 = Clock::now();
    started_in_backward_ = started_early_;
    take_down_to(0);
    // Everything not yet started is in: one blocking allreduce of the rest, not buckets of
    // nonblocking ones. MPI's blocking allreduce is its tuned one; OpenMPI's nonblocking
    // sums (libnbc) run slower algorithms, and (c)'s 22 MB rest took 21 ms that way against
    // 12 ms blocking (bench/README.md, run E).
    const auto t1 = Clock::now();
    communicator_.wait_sums();
    if (started_ < total_)
        communicator_.allreduce_sum(std::span<float>(buffer_.data() + started_, total_ - started_));
    started_ = total_;
    wait_seconds_ += seconds_since(t1);
    const float loss = upload_sums();
    seconds_ += seconds_since(t0);
    return loss;
}

float GradientBuckets::reduce_blocking() {
    const auto t0 = Clock::now();
    take_down_to(0);
    const auto t1 = Clock::now();
    communicator_.allreduce_sum(std::span<float>(buffer_.data(), total_));
    wait_seconds_ += seconds_since(t1);
    const float loss = upload_sums();
    seconds_ += seconds_since(t0);
    return loss;
}

}  // namespace plexus::core
