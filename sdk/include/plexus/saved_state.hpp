// What a component carries from one training session to the next: a callback's counters, best
// value and best weights, a dropout layer's random-number counter. The run stores it in its
// full-state checkpoint after every epoch, and `plexus train --resume` hands it back, so a
// resumed run continues exactly where the checkpoint was taken.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "plexus/error.hpp"

namespace plexus {

/// Named host values of four kinds: reals (kept bit for bit, infinities and NaN included),
/// counts, texts and float arrays. Setting a name again replaces its value.
class SavedState {
public:
    void set_real(const std::string& name, double value) { reals_[name] = value; }
    void set_count(const std::string& name, std::uint64_t value) { counts_[name] = value; }
    void set_text(const std::string& name, std::string value) { texts_[name] = std::move(value); }
    void set_floats(const std::string& name, std::vector<float> values) {
        floats_[name] = std::move(values);
    }

    /// The value saved under `name`. Throws plexus::Error naming it when there is none (a
    /// checkpoint written by another version of the component).
    double real(const std::string& name) const { return find(reals_, name); }
    std::uint64_t count(const std::string& name) const { return find(counts_, name); }
    const std::string& text(const std::string& name) const { return find(texts_, name); }
    const std::vector<float>& floats(const std::string& name) const {
        return find(floats_, name);
    }

    // Every entry by kind, for the checkpoint file.
    const std::map<std::string, double>& reals() const { return reals_; }
    const std::map<std::string, std::uint64_t>& counts() const { return counts_; }
    const std::map<std::string, std::string>& texts() const { return texts_; }
    const std::map<std::string, std::vector<float>>& arrays() const { return floats_; }

private:
    template <class Map>
    static const typename Map::mapped_type& find(const Map& map, const std::string& name) {
        const auto it = map.find(name);
        if (it == map.end())
            throw Error("the saved state has no '" + name +
                        "' (the checkpoint was written by another version of the component)");
        return it->second;
    }

    std::map<std::string, double> reals_;
    std::map<std::string, std::uint64_t> counts_;
    std::map<std::string, std::string> texts_;
    std::map<std::string, std::vector<float>> floats_;
};

}  // namespace plexus
