// Tensor storage and views, and the autograd mechanics: accumulation, zero_grad, no-grad,
// graph freeing, and misuse.
#include <doctest/doctest.h>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/ops.h"

using namespace legato;

TEST_CASE("tensor: views share storage; clone and to copy") {
  Tensor t = Tensor::from_values({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor row = t.rows(1, 2);
  CHECK(row.shape() == Shape{2, 2});
  CHECK(row.at(0) == 3);
  row.data<float>()[0] = 30;  // a view: the parent sees the write
  CHECK(t.at(2) == 30);
  Tensor v = t.view({6});
  CHECK(v.at(5) == 6);
  Tensor c = t.clone();
  c.data<float>()[0] = -1;
  CHECK(t.at(0) == 1);
  Tensor d = t.to(DType::F64);
  CHECK(d.dtype() == DType::F64);
  CHECK(d.to_vector() == t.to_vector());
  CHECK(t.describe() == "float32 [3, 2]");
  CHECK_THROWS_WITH_AS(t.data<double>(), doctest::Contains("data<float64>() of a float32 [3, 2]"),
                       std::invalid_argument);
  CHECK_THROWS_AS(t.rows(2, 2), std::out_of_range);
  CHECK_THROWS_AS(t.view({4}), std::invalid_argument);
}

TEST_CASE("tensor: share_storage_of makes every handle view the source's elements") {
  Tensor weight = Tensor::empty({2, 2}).set_requires_grad(true);
  Tensor handle = weight;  // as a parameter list holds it
  const Tensor loaded = Tensor::from_values({3, 2}, {9, 9, 1, 2, 3, 4}).rows(1, 2).view({2, 2});
  handle.share_storage_of(loaded);
  CHECK(weight.to_vector() == std::vector<double>{1, 2, 3, 4});
  CHECK(weight.requires_grad());
  CHECK(weight.raw_data() == loaded.raw_data());  // no copy
  CHECK_THROWS_AS(weight.share_storage_of(Tensor::zeros({4})), std::invalid_argument);
  CHECK_THROWS_AS(weight.share_storage_of(Tensor::zeros({2, 2}, DType::F64)), std::invalid_argument);
}

TEST_CASE("tensor: the host allocator reuses freed blocks") {
  host_release_cache();
  const void* first;
  {
    Tensor a = Tensor::empty({1000});
    first = a.raw_data();
  }
  CHECK(host_cached_bytes() >= 4000);
  Tensor b = Tensor::empty({1000});
  CHECK(b.raw_data() == first);
  CHECK(reinterpret_cast<uintptr_t>(b.raw_data()) % 64 == 0);
}

TEST_CASE("autograd: a value used twice gets both contributions") {
  Tensor x = Tensor::from_values({2}, {3, -2}, DType::F64).set_requires_grad(true);
  Tensor y = ops::add(ops::mul(x, x), ops::scale(x, 5));  // dy/dx = 2x + 5
  ops::sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{11, 1});
  // Gradients accumulate across passes until zero_grad.
  ops::sum(ops::scale(x, 2)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{13, 3});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("autograd: the graph is freed after backward") {
  Tensor x = Tensor::from_values({3}, {1, 2, 3}, DType::F64).set_requires_grad(true);
  Tensor h = ops::tanh(x);
  Tensor loss = ops::sum(h);
  CHECK(h.impl()->grad_fn != nullptr);
  std::weak_ptr<Node> node = h.impl()->grad_fn;
  loss.backward();
  CHECK(h.impl()->grad_fn == nullptr);
  CHECK(node.expired());
  CHECK_FALSE(h.grad().defined());  // intermediate gradients are not kept
  CHECK(x.grad().defined());
}

TEST_CASE("autograd: no-grad guard records nothing") {
  Tensor x = Tensor::from_values({2}, {1, 2}).set_requires_grad(true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = ops::mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.impl()->grad_fn == nullptr);
  }
  CHECK(grad_enabled());
  CHECK(ops::mul(x, x).requires_grad());
}

TEST_CASE("autograd: misuse throws") {
  Tensor x = Tensor::from_values({2}, {1, 2}).set_requires_grad(true);
  Tensor y = ops::scale(x, 2);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("float32 [2] is not a scalar; pass a seed gradient"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(y.backward(Tensor::zeros({3})), doctest::Contains("seed gradient float32 [3]"),
                       std::invalid_argument);
  y.backward(Tensor::from_values({2}, {1, 10}));  // with a seed it works
  CHECK(x.grad().to_vector() == std::vector<double>{2, 20});
  Tensor z = Tensor::zeros({1});
  CHECK_THROWS_WITH_AS(z.backward(), doctest::Contains("does not require a gradient"), std::logic_error);
  CHECK_THROWS_AS(Tensor::from_indices({1}, {0}).set_requires_grad(true), std::invalid_argument);
}
