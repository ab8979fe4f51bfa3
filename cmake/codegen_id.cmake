# Writes OUT: a header defining NUMJIT_CODEGEN_ID, a hash of the sources
# that decide what machine code a kernel becomes. It is part of the on-disk
# cache key, so an object written by another build of numjit is never used.
set(text "")
foreach(f ${SOURCES})
  file(READ ${f} content)
  string(APPEND text "${content}")
endforeach()
string(SHA1 id "${text}")
file(WRITE ${OUT}.tmp "#define NUMJIT_CODEGEN_ID \"${id}\"\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
