#pragma once
// The server's routes (serve/server.h lists them), over the studio and the pool.
#include <httplib.h>

#include "serve/pool.h"
#include "serve/server.h"
#include "serve/studio.h"

namespace legato::serve {

void add_routes(httplib::Server& http, Studio& studio, Pool& pool, const ServerOptions& options);

// The one line of JSON every error response carries.
std::string error_body(const std::string& message);

}  // namespace legato::serve
