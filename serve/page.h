#pragma once
// The page's files (serve/page/), compiled into the program so that it serves the same page
// wherever it is installed; serve/CMakeLists.txt writes their text into page_data.cpp.
#include <string_view>
#include <vector>

namespace legato::serve {

struct PageFile {
  const char* route;  // "/", "/app.js", "/style.css"
  std::string_view text;
  const char* content_type;  // with its charset
};

const std::vector<PageFile>& page_files();

}  // namespace legato::serve
