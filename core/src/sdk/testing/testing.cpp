#include "plexus/testing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <span>

#include "plexus/core/registry/registry.hpp"
#include "plexus/error.hpp"

namespace plexus::testing {
namespace {

// One registry per search path, never destroyed: components made by a test may live in
// static objects whose destruction order we do not control.
core::Registry& registry_for(const std::vector<std::string>& paths) {
    static std::mutex mutex;
    static auto* cache = new std::map<std::vector<std::string>, std::unique_ptr<core::Registry>>();
    std::lock_guard lock(mutex);
    auto& slot = (*cache)[paths];
    if (!slot) {
        core::RegistryOptions options;
        for (const auto& p : paths) options.plugin_paths.emplace_back(p);
        slot = std::make_unique<core::Registry>(std::move(options));
    }
    return *slot;
}

// Element `i` of `t` as a one-element view, so a perturbation uploads 4 bytes.
Tensor element(const Tensor& t, std::size_t i) {
    return t.reshaped(Shape{t.numel()}).rows(i, 1);
}

// Up to `max_checks` indices spread evenly over [0, n).
std::vector<std::size_t> spread(std::size_t n, std::size_t max_checks) {
    std::vector<std::size_t> out;
    const std::size_t m = std::min(n, max_checks);
    out.reserve(m);
    for (std::size_t k = 0; k < m; ++k) out.push_back(k * n / m);
    return out;
}

double relative_error(double analytic, double numeric) {
    const double err =
        std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-3});
    // NaN or inf must fail every threshold, and NaN would lose every comparison.
    return std::isfinite(err) ? err : std::numeric_limits<double>::infinity();
}

void record(GradCheckResult& result, double analytic, double numeric, const std::string& what,
            std::size_t index) {
    const double err = relative_error(analytic, numeric);
    ++result.checked;
    if (result.worst.empty() || err > result.max_rel_error) {
        result.max_rel_error = err;
        result.worst = what + "[" + std::to_string(index) + "]";
    }
}

// Central difference of `objective` with respect to element i of `t`, whose current value
// is `original`; the element is restored afterwards. The step actually taken in float32 is used as
// the denominator, so rounding of x ± eps does not bias the estimate.
template <class Objective>
double central_difference(Device& device, const Tensor& t, std::size_t i, float original, float eps,
                          Objective&& objective) {
    const Tensor view = element(t, i);
    const float plus = original + eps;
    const float minus = original - eps;
    device.upload(view, std::span<const float>(&plus, 1));
    const double l_plus = objective();
    device.upload(view, std::span<const float>(&minus, 1));
    const double l_minus = objective();
    device.upload(view, std::span<const float>(&original, 1));
    return (l_plus - l_minus) / (static_cast<double>(plus) - static_cast<double>(minus));
}

std::vector<float> uniform_values(std::mt19937& rng, std::size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

}  // namespace

std::shared_ptr<void> load_component(Kind kind, const std::string& spec,
                                     const std::vector<std::string>& plugin_paths) {
    core::Registry& registry = registry_for(plugin_paths);
    try {
        return registry.create(kind, core::parse_component_spec(spec));
    } catch (const PluginError& e) {
        // A test that cannot find its plugin usually means the library failed to load;
        // say why instead of only "unknown layer".
        if (registry.errors().empty()) throw;
        std::string message = e.what();
        message += " [plugin load errors:";
        for (const auto& err : registry.errors()) message += " " + err.message + ";";
        message += "]";
        throw PluginError(message);
    }
}

Tensor make_tensor(Device& device, const Shape& shape, const std::vector<float>& values) {
    if (values.size() != shape.numel())
        throw ShapeError("make_tensor: " + std::to_string(values.size()) +
                         " values for a tensor of shape " + shape.str());
    Tensor t = device.alloc(shape);
    device.upload(t, values);
    return t;
}

std::vector<float> to_host(Device& device, const Tensor& t) {
    std::vector<float> values(t.numel());
    device.download(t, values);
    return values;
}

GradCheckResult check_layer(Layer& layer, Device& device, const Shape& input_shape,
                            const GradCheckOptions& options) {
    BuildContext context;
    context.seed = options.seed;
    const Shape output_shape = layer.build(input_shape, device, context);
    const float eps = options.epsilon;

    std::mt19937 rng(static_cast<std::mt19937::result_type>(options.seed));
    std::vector<float> x_host = uniform_values(rng, input_shape.numel(), -1.0f, 1.0f);
    // Kinks (ReLU at 0, max-pool ties) make central differences meaningless within eps of
    // them, so keep inputs at least 2 eps away from zero.
    for (auto& v : x_host)
        if (std::abs(v) < 2 * eps) v = std::copysign(2 * eps + std::abs(v), v);
    const std::vector<float> r = uniform_values(rng, output_shape.numel(), -1.0f, 1.0f);

    const Tensor x = make_tensor(device, input_shape, x_host);
    const Tensor y = device.alloc(output_shape);
    const Tensor dy = make_tensor(device, output_shape, r);
    const Tensor dx = device.alloc(input_shape);

    layer.forward(x, y, options.mode);
    layer.backward(x, y, dy, &dx);
    const std::vector<float> dx_host = to_host(device, dx);
    const std::vector<Parameter*> params = layer.parameters();
    std::vector<std::vector<float>> grads;
    for (const Parameter* p : params)
        grads.push_back(p->trainable ? to_host(device, p->grad) : std::vector<float>{});

    std::vector<float> y_host(output_shape.numel());
    auto objective = [&]() {
        layer.forward(x, y, options.mode);
        device.download(y, y_host);
        double sum = 0.0;
        for (std::size_t i = 0; i < y_host.size(); ++i)
            sum += static_cast<double>(y_host[i]) * static_cast<double>(r[i]);
        return sum;
    };

    GradCheckResult result;
    for (std::size_t i : spread(x_host.size(), options.max_checks))
        record(result, dx_host[i], central_difference(device, x, i, x_host[i], eps, objective),
               "input", i);
    for (std::size_t k = 0; k < params.size(); ++k) {
        const Parameter& p = *params[k];
        if (!p.trainable) continue;
        const std::vector<float> value = to_host(device, p.value);
        for (std::size_t i : spread(value.size(), options.max_checks))
            record(result, grads[k][i],
                   central_difference(device, p.value, i, value[i], eps, objective),
                   "param " + p.name, i);
    }
    return result;
}

GradCheckResult check_loss(Loss& loss, Device& device, const Shape& pred_shape,
                           const std::vector<float>& target, const GradCheckOptions& options) {
    loss.build(pred_shape, device);
    std::mt19937 rng(static_cast<std::mt19937::result_type>(options.seed));
    const std::vector<float> pred_host = uniform_values(rng, pred_shape.numel(), -2.0f, 2.0f);

    const Tensor pred = make_tensor(device, pred_shape, pred_host);
    const Tensor t = make_tensor(device, pred_shape, target);
    const Tensor dpred = device.alloc(pred_shape);
    loss.backward(pred, t, dpred);
    const std::vector<float> analytic = to_host(device, dpred);

    auto objective = [&]() { return static_cast<double>(loss.forward(pred, t)); };
    GradCheckResult result;
    for (std::size_t i : spread(pred_host.size(), options.max_checks))
        record(result, analytic[i],
               central_difference(device, pred, i, pred_host[i], options.epsilon, objective),
               "pred", i);
    return result;
}

}  // namespace plexus::testing
