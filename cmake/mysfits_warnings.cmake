# mysfits::warnings: the warning set every project target compiles with (STYLE.md §5).
add_library(mysfits_warnings INTERFACE)
add_library(mysfits::warnings ALIAS mysfits_warnings)
target_compile_options(mysfits_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  $<$<BOOL:${MYSFITS_WERROR}>:-Werror>)
