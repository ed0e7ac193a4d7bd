#pragma once
// Files and folders named by the user, checked before any work starts: each function returns ""
// when the path can be used, else what is wrong in words a user acts on ("is a folder", "no such
// file", "cannot write in /x: Permission denied"), never an exception's text.
#include <filesystem>
#include <string>

namespace legato::midi {

// A file to read: it exists and is a file.
std::string input_file_problem(const std::filesystem::path& path);

// A file or folder to read (a folder is searched for MIDI files): it exists.
std::string input_path_problem(const std::filesystem::path& path);

// A folder to write files into, created with its parents where missing: the nearest existing
// folder on the way is a folder, and a file can be created in it (tried, then removed).
std::string output_folder_problem(const std::filesystem::path& dir);

// A file to write (its folder created where missing): not a folder, and writable.
std::string output_file_problem(const std::filesystem::path& path);

}  // namespace legato::midi
