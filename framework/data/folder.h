// A folder of the user's own images, laid out as torchvision's ImageFolder expects:
// data.root/train/<class>/*.png|jpg|jpeg, data.root/test/<class>/..., and optionally
// data.root/val/<class>/... Labels are the training class folders' names in sorted order.
// Images are decoded once, on all cores, into one uint8 tensor (data.cache: memory), or decoded
// again for each batch (data.cache: none). Every problem is one line naming the file or folder.
#pragma once

#include "framework/data/dataset.h"

namespace dlx::data {

/// One image file decoded to `channels` and brought to `size` (antialiased bilinear, as PIL's
/// resize) unless it has it: uint8 [C, H, W].
at::Tensor load_image(const std::string& file, int64_t channels, config::Size2 size);

/// The whole dataset: train, test and (when data.root/val exists) val.
Dataset read_folder(const config::DataSpec& spec);

}  // namespace dlx::data
