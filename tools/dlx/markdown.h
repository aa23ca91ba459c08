// Markdown tables for the references in docs/ that dlx writes about itself (`dlx keys
// --markdown`, `dlx layers --markdown`), so that the manual is generated from the code.
#pragma once

#include <string>
#include <vector>

namespace dlx::tools {

/// A Markdown table: each cell's '|' escaped, code cells as written.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows);

/// `text` as inline code.
std::string code(const std::string& text);

}  // namespace dlx::tools
