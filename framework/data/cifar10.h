// CIFAR-10 in its official binary layout: data_batch_1.bin .. data_batch_5.bin (training) and
// test_batch.bin, each a run of records of one label byte and 3,072 image bytes (the red, green
// and blue planes of a 32x32 image, row by row); batches.meta.txt names the classes, one a line.
// No download: the folder is data.root, $DLX_DATA/cifar10 or /usr/share/datasets/cifar10.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/data/dataset.h"

namespace dlx::data {

/// The files a CIFAR-10 folder must hold, in the order read.
const std::vector<std::string>& cifar10_files();

/// One batch file as a split. A length that is not a whole number of records, or a label that is
/// not 0..9, is a RuntimeError naming the file.
Split read_cifar10_batch(const std::filesystem::path& file);

/// The whole dataset from its folder.
Dataset read_cifar10(const std::filesystem::path& root);

/// Writes `split` (uint8 [N, 3, 32, 32] with labels 0..9) as a batch file: for tests and tools.
void write_cifar10_batch(const std::filesystem::path& file, const Split& split);

}  // namespace dlx::data
