// train.precision: the bf16 autocast scope around a forward pass, and the run's fallback.
#include <doctest/doctest.h>

#include <ATen/autocast_mode.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/rand.h>

#include "framework/nn/builder.h"
#include "framework/nn/layers.h"
#include "framework/nn/precision.h"
#include "framework/train/environment.h"
#include "tests/helpers.h"

using namespace dlx;
using config::PrecisionKind;

namespace {

// "Float", "BFloat16": doctest prints strings, not ScalarTypes.
std::string dtype(const at::Tensor& t) {
  return c10::toString(t.scalar_type());
}

nn::Network small_net(PrecisionKind precision) {
  nn::Network net = testing::small_conv_net();
  net.precision = precision;
  return net;
}

// A depthwise convolution of 8 channels with a k x k window, its weights drawn from the seed.
nn::Conv2dAct depthwise(int64_t k) {
  torch::manual_seed(3);
  auto options = torch::nn::Conv2dOptions(8, 8, k).groups(8).padding(k / 2);
  return nn::Conv2dAct(options, nn::Activation::kNone, nn::Padding2d{k / 2, k / 2, k / 2, k / 2});
}

}  // namespace

TEST_CASE("inside an Autocast scope convolutions compute in bf16; outside, as before") {
  at::Tensor x = at::rand({2, 1, 8, 8});
  at::Tensor w = at::rand({4, 1, 3, 3});
  auto conv = [&] { return at::conv2d(x, w); };
  CHECK(dtype(conv()) == "Float");
  {
    nn::Autocast outer(PrecisionKind::kBf16, c10::kCPU);
    CHECK(dtype(conv()) == "BFloat16");
    {
      nn::Autocast inner(PrecisionKind::kFp32, c10::kCPU);  // fp32 leaves the scope as it is
      CHECK(dtype(conv()) == "BFloat16");
    }
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  CHECK(dtype(conv()) == "Float");
}

TEST_CASE("a bf16 forward gives float32 logits near fp32's and float32 gradients") {
  at::Tensor x = at::rand({4, 1, 8, 8});
  nn::Network fp32 = small_net(PrecisionKind::kFp32);
  nn::Network bf16 = small_net(PrecisionKind::kBf16);
  at::Tensor expected = fp32.forward(x);
  at::Tensor got = bf16.forward(x);
  CHECK(dtype(got) == "Float");
  CHECK_FALSE(at::equal(got, expected));  // bf16 keeps 8 bits of mantissa
  CHECK(at::allclose(got, expected, /*rtol=*/0.05, /*atol=*/0.05));
  got.sum().backward();
  for (const auto& p : bf16.body->parameters()) {
    CHECK(dtype(p) == "Float");
    CHECK(dtype(p.grad()) == "Float");
  }
}

TEST_CASE("a changed weight is seen by the next bf16 forward: the cast cache is cleared") {
  at::Tensor x = at::rand({2, 1, 8, 8});
  nn::Network net = small_net(PrecisionKind::kBf16);
  at::Tensor before = net.forward(x);
  {
    torch::NoGradGuard no_grad;
    net.body->named_parameters()["conv0.weight"].mul_(-2);  // as an optimizer step would, in place
  }
  at::Tensor after = net.forward(x);
  CHECK_FALSE(at::equal(before, after));
  nn::Network fresh = small_net(PrecisionKind::kBf16);
  {
    torch::NoGradGuard no_grad;
    fresh.body->named_parameters()["conv0.weight"].mul_(-2);
  }
  CHECK(at::equal(after, fresh.forward(x)));
}

TEST_CASE("bf16 is used where the CPU computes it, else the run says so and uses fp32") {
  std::string note;
  const PrecisionKind used = train::usable_precision(PrecisionKind::kBf16, c10::kCPU, &note);
  CHECK((used == PrecisionKind::kBf16) == nn::cpu_has_bf16());
  CHECK(note.empty() == nn::cpu_has_bf16());
  if (!note.empty()) CHECK(note.find("training in fp32") != std::string::npos);
  CHECK(train::usable_precision(PrecisionKind::kFp32, c10::kCPU) == PrecisionKind::kFp32);
}

TEST_CASE("under bf16, a depthwise convolution over 3x3 trains in float32 and evaluates in bf16") {
  at::Tensor x = at::rand({2, 8, 12, 12});
  nn::Conv2dAct large = depthwise(5);
  at::Tensor exact = large->forward(x);  // float32 throughout, no autocast
  exact.sum().backward();
  at::Tensor exact_grad = large->weight.grad().clone();
  large->weight.mutable_grad() = at::Tensor();

  nn::Autocast bf16(PrecisionKind::kBf16, c10::kCPU);
  at::Tensor trained = large->forward(x);
  CHECK(dtype(trained) == "BFloat16");  // handed on as autocast would
  CHECK(at::equal(trained, exact.to(at::kBFloat16)));
  trained.sum().backward();
  CHECK(dtype(large->weight.grad()) == "Float");
  CHECK(at::allclose(large->weight.grad(), exact_grad, /*rtol=*/1e-5, /*atol=*/1e-5));

  torch::NoGradGuard evaluation;
  at::Tensor evaluated = large->forward(x);
  CHECK(at::equal(evaluated, at::conv2d(x, large->weight, large->bias, 1, 2, 1, 8)));
  CHECK_FALSE(at::equal(evaluated, exact.to(at::kBFloat16)));  // bf16 inputs: not the same sums
}

TEST_CASE("under bf16, a 3x3 depthwise convolution trains in bf16, as autocast does") {
  at::Tensor x = at::rand({2, 8, 12, 12});
  nn::Conv2dAct small = depthwise(3);
  at::Tensor exact = small->forward(x);
  nn::Autocast bf16(PrecisionKind::kBf16, c10::kCPU);
  at::Tensor trained = small->forward(x);
  CHECK(at::equal(trained, at::conv2d(x, small->weight, small->bias, 1, 1, 1, 8)));
  CHECK_FALSE(at::equal(trained, exact.to(at::kBFloat16)));
}
