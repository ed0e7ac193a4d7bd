# Fails when a library folder includes a header of a folder above it in the design: the table
# below (docs/layers.md explains it) lists what each folder may include besides itself. Programs,
# benchmarks, tests and the Python module (tools/, bench/, tests/, python/) sit on top and are free.
# Run by the build (target check_layers, in ALL and before the tests):
#   cmake -DROOT=<source dir> [-DSTAMP=<file written when it passes>] -P tools/check_layers.cmake
cmake_minimum_required(VERSION 3.24)
# base/ (the atomic file write, the block cache) is below everything: every folder may include it.
set(everyone_may_include base)
set(may_include_base "")
set(may_include_kernels "")
set(may_include_engine kernels)
set(may_include_midi "")
set(may_include_eval midi)
set(may_include_render midi)
set(may_include_model engine kernels midi)
set(may_include_corpus model engine midi)
set(may_include_dist engine)
set(may_include_train dist corpus model engine midi eval)
# The doors over the library: call and response, the LV2 plugin, the web server.
set(may_include_live model engine midi render)
set(may_include_plugin live model engine midi)
set(may_include_serve corpus model engine midi eval render)
# None may run back up; an arrow listed here ("folder/file -> folder/header") would be let through.
set(known_exceptions "")
# The device seam: the GPU's host code (engine/cuda/) is reached from the rest of the library only
# through engine/device.h, engine/backend.h and engine/generate.h, and by the op routing below;
# which side answers them (engine/cuda/ or engine/without_cuda.cpp) is the build's choice, so no
# library file outside engine/cuda/ tests LEGATO_HAVE_CUDA either.
set(cuda_doors engine/dispatch.h)

set(failures "")
# kernels/ holds device code only: each .cu file defines a kernel (host code that drives the GPU,
# such as the caching allocator, is engine/cuda/'s), and none reaches base/ (host code too).
file(GLOB kernel_files RELATIVE ${ROOT} ${ROOT}/kernels/*.cu)
foreach(file ${kernel_files})
  file(STRINGS ${ROOT}/${file} kernel_lines REGEX "__global__")
  if(NOT kernel_lines)
    list(APPEND failures "${file}: no __global__ kernel in kernels/ (host-only code belongs in engine/cuda/)")
  endif()
endforeach()
# An op with a kernel is six files, each found by its name (docs/ops.md): engine/ops.h (the op and
# its cuda_ops twin), engine/ops/<op>.cpp, engine/cuda/<op>.cpp, kernels/<op>.cu, kernels/<op>.h
# (the bodies the CPU shares and the launchers' declarations) and its row in tests/op_table.h.
# So: every kernels/<op>.cu has its kernels/<op>.h; any other header in kernels/ is one of the
# shared ones listed here; engine/cuda/ holds no header named after an op; and cuda_ops is declared
# only beside the CPU's ops (engine/ops.h; the LSTM's engine/ops/lstm.h, the optimisers' engine/optim.h;
# engine/cuda/common.h holds the helpers the cuda_ops share, no op).
set(kernels_shared_headers batch_slice.h cuda_check.h device_buffer.h grid.h hd.h launch.h philox.h sampling.h)
set(cuda_ops_headers engine/ops.h engine/ops/lstm.h engine/optim.h engine/cuda/common.h)
file(GLOB kernel_headers RELATIVE ${ROOT}/kernels ${ROOT}/kernels/*.h)
foreach(file ${kernel_files})
  string(REGEX REPLACE "^kernels/(.*)\\.cu$" "\\1" op ${file})
  if(NOT EXISTS ${ROOT}/kernels/${op}.h)
    list(APPEND failures "${file}: its launchers belong in kernels/${op}.h (an op's six files: docs/ops.md)")
  endif()
  if(EXISTS ${ROOT}/engine/cuda/${op}.h)
    list(APPEND failures "engine/cuda/${op}.h: an op's host side is declared in engine/ops.h (an op's six files: docs/ops.md)")
  endif()
endforeach()
foreach(header ${kernel_headers})
  string(REGEX REPLACE "\\.h$" ".cu" kernel ${header})
  if(NOT EXISTS ${ROOT}/kernels/${kernel} AND NOT header IN_LIST kernels_shared_headers)
    list(APPEND failures "kernels/${header}: neither an op's header (kernels/<op>.h beside kernels/<op>.cu) nor a shared header listed in tools/check_layers.cmake (an op's six files: docs/ops.md)")
  endif()
endforeach()
file(GLOB_RECURSE engine_headers RELATIVE ${ROOT} ${ROOT}/engine/*.h)
foreach(file ${engine_headers})
  file(STRINGS ${ROOT}/${file} cuda_ops_lines REGEX "namespace[ \t]+legato::cuda_ops")
  if(cuda_ops_lines AND NOT file IN_LIST cuda_ops_headers)
    list(APPEND failures "${file}: cuda_ops is declared beside the CPU's ops: engine/ops.h, engine/ops/lstm.h, engine/optim.h (docs/ops.md)")
  endif()
endforeach()
foreach(folder base kernels engine midi eval render model corpus dist train live plugin serve)
  file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/${folder}/*.h ${ROOT}/${folder}/*.cpp ${ROOT}/${folder}/*.cu
       ${ROOT}/${folder}/*.cuh)
  foreach(file ${files})
    if(NOT file MATCHES "^engine/cuda/" AND NOT file IN_LIST cuda_doors)
      file(STRINGS ${ROOT}/${file} cuda_lines REGEX "LEGATO_HAVE_CUDA|#[ \t]*include[ \t]*\"engine/cuda/")
      if(cuda_lines)
        list(APPEND failures "${file}: reaches the GPU's host code past the device seam (engine/device.h, backend.h, generate.h), or tests LEGATO_HAVE_CUDA")
      endif()
    endif()
    file(STRINGS ${ROOT}/${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" header "${line}")
      if(header MATCHES "^\\.\\./")
        list(APPEND failures "${file} -> ${header} (name the folder, not ..)")
        continue()
      endif()
      # "name.h" and "sub/name.h" below the file's own folder are the folder's own.
      set(target "")
      if(header MATCHES "^([^/]+)/")
        set(target ${CMAKE_MATCH_1})
      endif()
      if(target STREQUAL "" OR NOT IS_DIRECTORY ${ROOT}/${target})
        continue()
      endif()
      if(target STREQUAL folder OR target IN_LIST may_include_${folder}
         OR (target IN_LIST everyone_may_include AND NOT folder STREQUAL "kernels")
         OR "${file} -> ${header}" IN_LIST known_exceptions)
        continue()
      endif()
      list(JOIN may_include_${folder} ", " allowed)
      if(allowed STREQUAL "")
        set(allowed "no other folder")
      endif()
      list(APPEND failures "${file} -> ${header} (${folder}/ may include ${allowed})")
    endforeach()
  endforeach()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "an include runs back up the layers (docs/layers.md):\n  ${text}")
endif()
if(STAMP)
  file(TOUCH ${STAMP})
endif()
