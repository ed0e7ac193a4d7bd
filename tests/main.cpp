// doctest's own main: the suite is one binary, build/bin/legato_tests.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
