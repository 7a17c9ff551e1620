// The one translation unit that compiles Boost.Asio and its SSL layer
// (BOOST_ASIO_SEPARATE_COMPILATION keeps every other unit lean).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
