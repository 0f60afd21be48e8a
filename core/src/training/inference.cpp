#include "plexus/core/training/inference.hpp"

#include <utility>

namespace plexus::core {

void infer(Device& device, Sequential& model, BatchLoader& loader, const Subset& data,
           const Tensor& x, const Tensor* t,
           const std::function<void(const InferBatch&)>& on_batch) {
    const std::size_t features = x.numel() / x.rows(), target_cols = t ? t->numel() / t->rows() : 0;
    const Tensor none;
    loader.start(data, Mode::infer, 0);
    for (std::size_t begin = 0; begin < data.size();) {
        const PreparedBatch b = loader.next();
        const Tensor xb = x.rows(0, b.rows);
        device.upload(xb, std::span<const float>(b.x, b.rows * features));
        Tensor tb;
        if (t) {
            tb = t->rows(0, b.rows);
            device.upload(tb, std::span<const float>(b.t, b.rows * target_cols));
        }
        const Tensor& y = model.forward(xb, Mode::infer);
        on_batch({y, t ? tb : none, begin, b.rows, b.base});
        begin += b.rows;
    }
    loader.stop();
}

Background::Background(std::function<void()> work)
    : thread_([this, work = std::move(work)] {
          try {
              work();
          } catch (...) {
              error_ = std::current_exception();
          }
      }) {}

Background::~Background() {
    if (thread_.joinable()) thread_.join();
}

void Background::join() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace plexus::core
