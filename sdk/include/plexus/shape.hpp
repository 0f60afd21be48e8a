// Shape: up to kMaxRank dimensions stored inline, so copying a shape never allocates.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>

#include "plexus/error.hpp"

namespace plexus {

class Shape {
public:
    static constexpr std::size_t kMaxRank = 6;

    Shape() = default;
    Shape(std::initializer_list<std::size_t> dims) {
        if (dims.size() > kMaxRank) throw ShapeError("shape rank above " + std::to_string(kMaxRank));
        for (std::size_t d : dims) dims_[rank_++] = d;
    }

    std::size_t rank() const { return rank_; }
    std::size_t operator[](std::size_t i) const { return dims_[i]; }
    std::size_t& operator[](std::size_t i) { return dims_[i]; }

    /// Number of elements (1 for a rank-0 shape, 0 when any dimension is 0). Throws
    /// ShapeError when the product does not fit in a size_t: dimensions read from a file must
    /// never wrap to a small count that passes a size check.
    std::size_t numel() const { return product(0); }
    /// First dimension (the batch), or 1 for rank 0.
    std::size_t rows() const { return rank_ ? dims_[0] : 1; }
    /// Product of the dimensions after the first: the width of a row-major [rows, cols] view.
    /// Throws ShapeError as numel() does.
    std::size_t cols() const { return product(1); }
    /// The same shape with the first dimension replaced.
    Shape with_rows(std::size_t n) const {
        Shape s = *this;
        if (s.rank_ == 0) s.rank_ = 1;
        s.dims_[0] = n;
        return s;
    }
    void push_back(std::size_t d) {
        if (rank_ == kMaxRank) throw ShapeError("shape rank above " + std::to_string(kMaxRank));
        dims_[rank_++] = d;
    }

    /// "[128, 784]"
    std::string str() const {
        std::string s = "[";
        for (std::size_t i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
        return s + "]";
    }

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.rank_ != b.rank_) return false;
        for (std::size_t i = 0; i < a.rank_; ++i)
            if (a.dims_[i] != b.dims_[i]) return false;
        return true;
    }

private:
    std::size_t product(std::size_t from) const {
        std::size_t n = 1;
        bool wrapped = false;
        for (std::size_t i = from; i < rank_; ++i) {
            if (dims_[i] == 0) return 0;
            wrapped = __builtin_mul_overflow(n, dims_[i], &n) || wrapped;
        }
        if (wrapped) throw ShapeError("shape " + str() + " has more elements than can be counted");
        return n;
    }

    std::array<std::size_t, kMaxRank> dims_{};
    std::size_t rank_ = 0;
};

/// A batch of `rows` samples of `sample` shape: [rows, sample...]. Throws ShapeError when
/// that exceeds kMaxRank dimensions.
inline Shape batch_of(std::size_t rows, const Shape& sample) {
    Shape s{rows};
    for (std::size_t i = 0; i < sample.rank(); ++i) s.push_back(sample[i]);
    return s;
}

}  // namespace plexus
