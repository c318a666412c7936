// Debian's libopenblas-dev installs cblas.h under the multiarch include directory.
#include <cblas.h>
