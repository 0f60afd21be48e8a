// Naming a run's metrics (metric_names.hpp): the plugin keeps reporting under its own name and
// a thin wrapper renames its values, so no metric plugin has to know about the others.
#include "plexus/core/training/metric_names.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include "plexus/error.hpp"

namespace plexus::core {
namespace {

std::string at(const std::string& where) {
    return where.empty() ? "" : where + ": ";
}

/// Names history.csv, the progress line and metrics.json use for themselves.
bool reserved(const std::string& name) {
    return name == "epoch" || name == "loss" || name == "reg_loss" || name == "lr" ||
           name == "seconds" || name.rfind("val_", 0) == 0;
}

bool plain(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.';
    });
}

/// Reports a plugin's values under another name: `from` and "from_..." become `to` and
/// "to_...".
class RenamedMetric final : public Metric {
public:
    RenamedMetric(std::shared_ptr<Metric> inner, std::string from, std::string to)
        : inner_(std::move(inner)), from_(std::move(from)), to_(std::move(to)) {}

    void build(const Shape& pred, Device& device) override { inner_->build(pred, device); }
    void reset() override { inner_->reset(); }
    void update(const Tensor& pred, const Tensor& target) override { inner_->update(pred, target); }
    MetricValues result() const override {
        MetricValues values = inner_->result();
        for (auto& [name, value] : values) {
            if (name == from_) name = to_;
            else if (name.rfind(from_ + "_", 0) == 0) name = to_ + name.substr(from_.size());
            else name = to_ + "_" + name;
        }
        return values;
    }
    std::vector<MetricTable> tables() const override { return inner_->tables(); }
    bool accepts(TargetKind kind) const override { return inner_->accepts(kind); }

private:
    std::shared_ptr<Metric> inner_;
    std::string from_, to_;
};

struct Planned {
    ComponentSpec spec;  // without name=
    std::string name;    // empty until named
    bool explicit_name = false;
    Params params;  // every parameter, defaults filled in
};

/// One part of a name for a parameter value: the value itself for a choice ("macro"), else the
/// key and the value ("k3", "beta0.5") so a bare number says what it counts.
std::string part(const ComponentEntry& entry, const std::string& key, const std::string& value) {
    for (std::size_t i = 0; i < entry.info->param_count; ++i)
        if (key == entry.info->params[i].name && entry.info->params[i].type == ParamType::choice)
            return value;
    return key + value;
}

std::string default_of(const ComponentEntry& entry, const std::string& key) {
    for (std::size_t i = 0; i < entry.info->param_count; ++i)
        if (key == entry.info->params[i].name && entry.info->params[i].default_value)
            return entry.info->params[i].default_value;
    return {};
}

/// Names the metrics of one kind without name=: by the parameters in which they differ, each
/// spelled out or away from its default; a parameter left unsaid at its default adds nothing.
void name_group(const Registry& registry, std::vector<Planned*>& group) {
    const std::string& kind = group.front()->spec.name;
    if (group.size() == 1) {
        group.front()->name = kind;
        return;
    }
    const ComponentEntry& entry = registry.require(Kind::metric, kind);
    std::vector<std::string> differing;
    for (const auto& [key, value] : group.front()->params.values())
        for (const Planned* p : group)
            if (p->params.get_string(key) != value) {
                differing.push_back(key);
                break;
            }
    for (Planned* p : group) {
        std::string suffix;
        for (const auto& key : differing) {
            const std::string& value = p->params.get_string(key);
            const bool spelled = std::any_of(p->spec.params.begin(), p->spec.params.end(),
                                             [&](const auto& kv) { return kv.first == key; });
            if (spelled || value != default_of(entry, key))
                suffix += "_" + part(entry, key, value);
        }
        // The one metric that leaves every differing parameter unsaid keeps the plain name
        // (`f1` beside `f1 average=micro` stays f1, so monitor=val_f1 still finds it).
        p->name = kind + suffix;
    }
}

}  // namespace

std::vector<std::shared_ptr<Metric>> create_named_metrics(const Registry& registry,
                                                          const std::vector<ComponentSpec>& specs) {
    std::vector<Planned> plan;
    for (const ComponentSpec& given : specs) {
        Planned p{given, {}, false, {}};
        auto& params = p.spec.params;
        const auto it = std::find_if(params.begin(), params.end(),
                                     [](const auto& kv) { return kv.first == "name"; });
        if (it != params.end()) {
            p.name = it->second;
            p.explicit_name = true;
            params.erase(it);
            if (!plain(p.name) || reserved(p.name))
                throw ConfigError(at(given.where) + "metric name '" + p.name + "' " +
                                  (plain(p.name) ? "is one the history uses itself (loss, lr, "
                                                   "seconds, epoch, val_...)"
                                                 : "must be letters, digits, '_', '-' or '.'") +
                                  ": choose another name=");
        }
        p.params = Registry::validate(registry.require(Kind::metric, p.spec.name, given.where),
                                      p.spec);
        plan.push_back(std::move(p));
    }
    std::map<std::string, std::vector<Planned*>> groups;  // unnamed metrics by kind
    for (Planned& p : plan)
        if (!p.explicit_name) groups[p.spec.name].push_back(&p);
    for (auto& [kind, group] : groups) name_group(registry, group);

    std::map<std::string, const Planned*> taken;
    for (const Planned& p : plan) {
        const auto [it, fresh] = taken.emplace(p.name, &p);
        if (fresh) continue;
        throw ConfigError(at(p.spec.where) + "metric '" + p.name + "' is already " +
                          (it->second->spec.where.empty() ? "given"
                                                          : "at " + it->second->spec.where) +
                          ": remove one, or tell them apart with name=...");
    }

    std::vector<std::shared_ptr<Metric>> out;
    for (const Planned& p : plan) {
        auto metric = registry.create_as<Metric>(p.spec);
        if (p.name != p.spec.name)
            metric = std::make_shared<RenamedMetric>(std::move(metric), p.spec.name, p.name);
        out.push_back(std::move(metric));
    }
    return out;
}

void check_metric_value_names(const std::vector<std::shared_ptr<Metric>>& metrics) {
    std::set<std::string> seen;
    for (const auto& m : metrics)
        for (const auto& [name, value] : m->result()) {
            if (reserved(name))
                throw ConfigError("metric value '" + name +
                                  "' has a name the history uses itself: rename the metric "
                                  "with name=...");
            if (!seen.insert(name).second)
                throw ConfigError("two metrics report a value named '" + name +
                                  "': tell them apart with name=...");
        }
}

}  // namespace plexus::core
