// The system zlib (Debian: zlib1g-dev), for reading .csv.gz cost exports as a stream.
#include <zlib.h>
