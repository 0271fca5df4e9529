/* version.h: the version string, set by the Makefile. */
#ifndef KW_VERSION_H
#define KW_VERSION_H
#ifndef KW_VERSION
#define KW_VERSION "unknown"
#endif
#endif
