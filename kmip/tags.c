/*
 * tags.c: KMIP's name tables (see tags.h): 1.x Attribute Names, and the
 * names of operations and result reasons for log lines and messages.
 * The tables were generated from PyKMIP 0.10's kmip/core/enums.py, like
 * the values in tags.h.
 */
#include <string.h>

#include "kmip/tags.h"

struct attr_entry {
	const char	*name;
	uint32_t	 tag;
};

struct name_entry {
	uint32_t	 value;
	const char	*name;
};

static const struct attr_entry attr_names[] = {
	{ "Activation Date", KMIP_TAG_ACTIVATION_DATE },
	{ "Alternative Name", KMIP_TAG_ALTERNATIVE_NAME },
	{ "Always Sensitive", KMIP_TAG_ALWAYS_SENSITIVE },
	{ "Application Specific Information", KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION },
	{ "Archive Date", KMIP_TAG_ARCHIVE_DATE },
	{ "Certificate Identifier", KMIP_TAG_CERTIFICATE_IDENTIFIER },
	{ "Certificate Issuer", KMIP_TAG_CERTIFICATE_ISSUER },
	{ "Certificate Issuer C", KMIP_TAG_CERTIFICATE_ISSUER_C },
	{ "Certificate Issuer CN", KMIP_TAG_CERTIFICATE_ISSUER_CN },
	{ "Certificate Issuer DC", KMIP_TAG_CERTIFICATE_ISSUER_DC },
	{ "Certificate Issuer DN Qualifier", KMIP_TAG_CERTIFICATE_ISSUER_DN_QUALIFIER },
	{ "Certificate Issuer Email", KMIP_TAG_CERTIFICATE_ISSUER_EMAIL },
	{ "Certificate Issuer L", KMIP_TAG_CERTIFICATE_ISSUER_L },
	{ "Certificate Issuer O", KMIP_TAG_CERTIFICATE_ISSUER_O },
	{ "Certificate Issuer OU", KMIP_TAG_CERTIFICATE_ISSUER_OU },
	{ "Certificate Issuer Serial Number", KMIP_TAG_CERTIFICATE_ISSUER_SERIAL_NUMBER },
	{ "Certificate Issuer ST", KMIP_TAG_CERTIFICATE_ISSUER_ST },
	{ "Certificate Issuer Title", KMIP_TAG_CERTIFICATE_ISSUER_TITLE },
	{ "Certificate Issuer UID", KMIP_TAG_CERTIFICATE_ISSUER_UID },
	{ "Certificate Length", KMIP_TAG_CERTIFICATE_LENGTH },
	{ "Certificate Subject", KMIP_TAG_CERTIFICATE_SUBJECT },
	{ "Certificate Subject C", KMIP_TAG_CERTIFICATE_SUBJECT_C },
	{ "Certificate Subject CN", KMIP_TAG_CERTIFICATE_SUBJECT_CN },
	{ "Certificate Subject DC", KMIP_TAG_CERTIFICATE_SUBJECT_DC },
	{ "Certificate Subject DN Qualifier", KMIP_TAG_CERTIFICATE_SUBJECT_DN_QUALIFIER },
	{ "Certificate Subject Email", KMIP_TAG_CERTIFICATE_SUBJECT_EMAIL },
	{ "Certificate Subject L", KMIP_TAG_CERTIFICATE_SUBJECT_L },
	{ "Certificate Subject O", KMIP_TAG_CERTIFICATE_SUBJECT_O },
	{ "Certificate Subject OU", KMIP_TAG_CERTIFICATE_SUBJECT_OU },
	{ "Certificate Subject Serial Number", KMIP_TAG_CERTIFICATE_SUBJECT_SERIAL_NUMBER },
	{ "Certificate Subject ST", KMIP_TAG_CERTIFICATE_SUBJECT_ST },
	{ "Certificate Subject Title", KMIP_TAG_CERTIFICATE_SUBJECT_TITLE },
	{ "Certificate Subject UID", KMIP_TAG_CERTIFICATE_SUBJECT_UID },
	{ "Certificate Type", KMIP_TAG_CERTIFICATE_TYPE },
	{ "Comment", KMIP_TAG_COMMENT },
	{ "Compromise Date", KMIP_TAG_COMPROMISE_DATE },
	{ "Compromise Occurrence Date", KMIP_TAG_COMPROMISE_OCCURRENCE_DATE },
	{ "Contact Information", KMIP_TAG_CONTACT_INFORMATION },
	{ "Cryptographic Algorithm", KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM },
	{ "Cryptographic Domain Parameters", KMIP_TAG_CRYPTOGRAPHIC_DOMAIN_PARAMETERS },
	{ "Cryptographic Length", KMIP_TAG_CRYPTOGRAPHIC_LENGTH },
	{ "Cryptographic Parameters", KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS },
	{ "Cryptographic Usage Mask", KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK },
	{ "Custom Attribute", KMIP_TAG_CUSTOM_ATTRIBUTE },
	{ "Deactivation Date", KMIP_TAG_DEACTIVATION_DATE },
	{ "Description", KMIP_TAG_DESCRIPTION },
	{ "Destroy Date", KMIP_TAG_DESTROY_DATE },
	{ "Digest", KMIP_TAG_DIGEST },
	{ "Digital Signature Algorithm", KMIP_TAG_DIGITAL_SIGNATURE_ALGORITHM },
	{ "Extractable", KMIP_TAG_EXTRACTABLE },
	{ "Fresh", KMIP_TAG_FRESH },
	{ "Initial Date", KMIP_TAG_INITIAL_DATE },
	{ "Key Format Type", KMIP_TAG_KEY_FORMAT_TYPE },
	{ "Key Value Location", KMIP_TAG_KEY_VALUE_LOCATION },
	{ "Key Value Present", KMIP_TAG_KEY_VALUE_PRESENT },
	{ "Last Change Date", KMIP_TAG_LAST_CHANGE_DATE },
	{ "Lease Time", KMIP_TAG_LEASE_TIME },
	{ "Link", KMIP_TAG_LINK },
	{ "Name", KMIP_TAG_NAME },
	{ "Never Extractable", KMIP_TAG_NEVER_EXTRACTABLE },
	{ "NIST Key Type", KMIP_TAG_NIST_KEY_TYPE },
	{ "Object Group", KMIP_TAG_OBJECT_GROUP },
	{ "Object Type", KMIP_TAG_OBJECT_TYPE },
	{ "Opaque Data Type", KMIP_TAG_OPAQUE_DATA_TYPE },
	{ "Operation Policy Name", KMIP_TAG_OPERATION_POLICY_NAME },
	{ "Original Creation Date", KMIP_TAG_ORIGINAL_CREATION_DATE },
	{ "PKCS#12 Friendly Name", KMIP_TAG_PKCS12_FRIENDLY_NAME },
	{ "Process Start Date", KMIP_TAG_PROCESS_START_DATE },
	{ "Protect Stop Date", KMIP_TAG_PROTECT_STOP_DATE },
	{ "Protection Level", KMIP_TAG_PROTECTION_LEVEL },
	{ "Protection Period", KMIP_TAG_PROTECTION_PERIOD },
	{ "Protection Storage Mask", KMIP_TAG_PROTECTION_STORAGE_MASK },
	{ "Quantum Safe", KMIP_TAG_QUANTUM_SAFE },
	{ "Random Number Generator", KMIP_TAG_RANDOM_NUMBER_GENERATOR },
	{ "Revocation Reason", KMIP_TAG_REVOCATION_REASON },
	{ "Sensitive", KMIP_TAG_SENSITIVE },
	{ "Short Unique Identifier", KMIP_TAG_SHORT_UNIQUE_IDENTIFIER },
	{ "State", KMIP_TAG_STATE },
	{ "Unique Identifier", KMIP_TAG_UNIQUE_IDENTIFIER },
	{ "Usage Limits", KMIP_TAG_USAGE_LIMITS },
	{ "X.509 Certificate Identifier", KMIP_TAG_X_509_CERTIFICATE_IDENTIFIER },
	{ "X.509 Certificate Issuer", KMIP_TAG_X_509_CERTIFICATE_ISSUER },
	{ "X.509 Certificate Subject", KMIP_TAG_X_509_CERTIFICATE_SUBJECT },
};

static const struct name_entry op_names[] = {
	{ KMIP_OP_CREATE, "Create" },
	{ KMIP_OP_CREATE_KEY_PAIR, "Create Key Pair" },
	{ KMIP_OP_REGISTER, "Register" },
	{ KMIP_OP_REKEY, "Rekey" },
	{ KMIP_OP_DERIVE_KEY, "Derive Key" },
	{ KMIP_OP_CERTIFY, "Certify" },
	{ KMIP_OP_RECERTIFY, "Recertify" },
	{ KMIP_OP_LOCATE, "Locate" },
	{ KMIP_OP_CHECK, "Check" },
	{ KMIP_OP_GET, "Get" },
	{ KMIP_OP_GET_ATTRIBUTES, "Get Attributes" },
	{ KMIP_OP_GET_ATTRIBUTE_LIST, "Get Attribute List" },
	{ KMIP_OP_ADD_ATTRIBUTE, "Add Attribute" },
	{ KMIP_OP_MODIFY_ATTRIBUTE, "Modify Attribute" },
	{ KMIP_OP_DELETE_ATTRIBUTE, "Delete Attribute" },
	{ KMIP_OP_OBTAIN_LEASE, "Obtain Lease" },
	{ KMIP_OP_GET_USAGE_ALLOCATION, "Get Usage Allocation" },
	{ KMIP_OP_ACTIVATE, "Activate" },
	{ KMIP_OP_REVOKE, "Revoke" },
	{ KMIP_OP_DESTROY, "Destroy" },
	{ KMIP_OP_ARCHIVE, "Archive" },
	{ KMIP_OP_RECOVER, "Recover" },
	{ KMIP_OP_VALIDATE, "Validate" },
	{ KMIP_OP_QUERY, "Query" },
	{ KMIP_OP_CANCEL, "Cancel" },
	{ KMIP_OP_POLL, "Poll" },
	{ KMIP_OP_NOTIFY, "Notify" },
	{ KMIP_OP_PUT, "Put" },
	{ KMIP_OP_REKEY_KEY_PAIR, "Rekey Key Pair" },
	{ KMIP_OP_DISCOVER_VERSIONS, "Discover Versions" },
	{ KMIP_OP_ENCRYPT, "Encrypt" },
	{ KMIP_OP_DECRYPT, "Decrypt" },
	{ KMIP_OP_SIGN, "Sign" },
	{ KMIP_OP_SIGNATURE_VERIFY, "Signature Verify" },
	{ KMIP_OP_MAC, "MAC" },
	{ KMIP_OP_MAC_VERIFY, "MAC Verify" },
	{ KMIP_OP_RNG_RETRIEVE, "RNG Retrieve" },
	{ KMIP_OP_RNG_SEED, "RNG Seed" },
	{ KMIP_OP_HASH, "Hash" },
	{ KMIP_OP_CREATE_SPLIT_KEY, "Create Split Key" },
	{ KMIP_OP_JOIN_SPLIT_KEY, "Join Split Key" },
	{ KMIP_OP_IMPORT, "Import" },
	{ KMIP_OP_EXPORT, "Export" },
	{ KMIP_OP_LOG, "Log" },
	{ KMIP_OP_LOGIN, "Login" },
	{ KMIP_OP_LOGOUT, "Logout" },
	{ KMIP_OP_DELEGATED_LOGIN, "Delegated Login" },
	{ KMIP_OP_ADJUST_ATTRIBUTE, "Adjust Attribute" },
	{ KMIP_OP_SET_ATTRIBUTE, "Set Attribute" },
	{ KMIP_OP_SET_ENDPOINT_ROLE, "Set Endpoint Role" },
	{ KMIP_OP_PKCS_11, "PKCS#11" },
	{ KMIP_OP_INTEROP, "Interop" },
	{ KMIP_OP_REPROVISION, "Reprovision" },
};

static const struct name_entry reason_names[] = {
	{ KMIP_REASON_ITEM_NOT_FOUND, "Item Not Found" },
	{ KMIP_REASON_RESPONSE_TOO_LARGE, "Response Too Large" },
	{ KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL, "Authentication Not Successful" },
	{ KMIP_REASON_INVALID_MESSAGE, "Invalid Message" },
	{ KMIP_REASON_OPERATION_NOT_SUPPORTED, "Operation Not Supported" },
	{ KMIP_REASON_MISSING_DATA, "Missing Data" },
	{ KMIP_REASON_INVALID_FIELD, "Invalid Field" },
	{ KMIP_REASON_FEATURE_NOT_SUPPORTED, "Feature Not Supported" },
	{ KMIP_REASON_OPERATION_CANCELED_BY_REQUESTER, "Operation Canceled by Requester" },
	{ KMIP_REASON_CRYPTOGRAPHIC_FAILURE, "Cryptographic Failure" },
	{ KMIP_REASON_ILLEGAL_OPERATION, "Illegal Operation" },
	{ KMIP_REASON_PERMISSION_DENIED, "Permission Denied" },
	{ KMIP_REASON_OBJECT_ARCHIVED, "Object Archived" },
	{ KMIP_REASON_INDEX_OUT_OF_BOUNDS, "Index Out of Bounds" },
	{ KMIP_REASON_APPLICATION_NAMESPACE_NOT_SUPPORTED, "Application Namespace Not Supported" },
	{ KMIP_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED, "Key Format Type Not Supported" },
	{ KMIP_REASON_KEY_COMPRESSION_TYPE_NOT_SUPPORTED, "Key Compression Type Not Supported" },
	{ KMIP_REASON_ENCODING_OPTION_ERROR, "Encoding Option Error" },
	{ KMIP_REASON_KEY_VALUE_NOT_PRESENT, "Key Value Not Present" },
	{ KMIP_REASON_ATTESTATION_REQUIRED, "Attestation Required" },
	{ KMIP_REASON_ATTESTATION_FAILED, "Attestation Failed" },
	{ KMIP_REASON_SENSITIVE, "Sensitive" },
	{ KMIP_REASON_NOT_EXTRACTABLE, "Not Extractable" },
	{ KMIP_REASON_OBJECT_ALREADY_EXISTS, "Object Already Exists" },
	{ KMIP_REASON_GENERAL_FAILURE, "General Failure" },
	{ KMIP_REASON_INVALID_TICKET, "Invalid Ticket" },
	{ KMIP_REASON_USAGE_LIMIT_EXCEEDED, "Usage Limit Exceeded" },
	{ KMIP_REASON_NUMERIC_RANGE, "Numeric Range" },
	{ KMIP_REASON_INVALID_DATA_TYPE, "Invalid Data Type" },
	{ KMIP_REASON_READ_ONLY_ATTRIBUTE, "Read Only Attribute" },
	{ KMIP_REASON_MULTI_VALUED_ATTRIBUTE, "Multi Valued Attribute" },
	{ KMIP_REASON_UNSUPPORTED_ATTRIBUTE, "Unsupported Attribute" },
	{ KMIP_REASON_ATTRIBUTE_INSTANCE_NOT_FOUND, "Attribute Instance Not Found" },
	{ KMIP_REASON_ATTRIBUTE_NOT_FOUND, "Attribute Not Found" },
	{ KMIP_REASON_ATTRIBUTE_READ_ONLY, "Attribute Read Only" },
	{ KMIP_REASON_ATTRIBUTE_SINGLE_VALUED, "Attribute Single Valued" },
	{ KMIP_REASON_BAD_CRYPTOGRAPHIC_PARAMETERS, "Bad Cryptographic Parameters" },
	{ KMIP_REASON_BAD_PASSWORD, "Bad Password" },
	{ KMIP_REASON_CODEC_ERROR, "Codec Error" },
	{ KMIP_REASON_ILLEGAL_OBJECT_TYPE, "Illegal Object Type" },
	{ KMIP_REASON_INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, "Incompatible Cryptographic Usage Mask" },
	{ KMIP_REASON_INTERNAL_SERVER_ERROR, "Internal Server Error" },
	{ KMIP_REASON_INVALID_ASYNCHRONOUS_CORRELATION_VALUE, "Invalid Asynchronous Correlation Value" },
	{ KMIP_REASON_INVALID_ATTRIBUTE, "Invalid Attribute" },
	{ KMIP_REASON_INVALID_ATTRIBUTE_VALUE, "Invalid Attribute Value" },
	{ KMIP_REASON_INVALID_CORRELATION_VALUE, "Invalid Correlation Value" },
	{ KMIP_REASON_INVALID_CSR, "Invalid CSR" },
	{ KMIP_REASON_INVALID_OBJECT_TYPE, "Invalid Object Type" },
	{ KMIP_REASON_KEY_WRAP_TYPE_NOT_SUPPORTED, "Key Wrap Type Not Supported" },
	{ KMIP_REASON_MISSING_INITIALIZATION_VECTOR, "Missing Initialization Vector" },
	{ KMIP_REASON_NON_UNIQUE_NAME_ATTRIBUTE, "Non Unique Name Attribute" },
	{ KMIP_REASON_OBJECT_DESTROYED, "Object Destroyed" },
	{ KMIP_REASON_OBJECT_NOT_FOUND, "Object Not Found" },
	{ KMIP_REASON_NOT_AUTHORISED, "Not Authorised" },
	{ KMIP_REASON_SERVER_LIMIT_EXCEEDED, "Server Limit Exceeded" },
	{ KMIP_REASON_UNKNOWN_ENUMERATION, "Unknown Enumeration" },
	{ KMIP_REASON_UNKNOWN_MESSAGE_EXTENSION, "Unknown Message Extension" },
	{ KMIP_REASON_UNKNOWN_TAG, "Unknown Tag" },
	{ KMIP_REASON_UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS, "Unsupported Cryptographic Parameters" },
	{ KMIP_REASON_UNSUPPORTED_PROTOCOL_VERSION, "Unsupported Protocol Version" },
	{ KMIP_REASON_WRAPPING_OBJECT_ARCHIVED, "Wrapping Object Archived" },
	{ KMIP_REASON_WRAPPING_OBJECT_DESTROYED, "Wrapping Object Destroyed" },
	{ KMIP_REASON_WRAPPING_OBJECT_NOT_FOUND, "Wrapping Object Not Found" },
	{ KMIP_REASON_WRONG_KEY_LIFECYCLE_STATE, "Wrong Key Lifecycle State" },
	{ KMIP_REASON_PROTECTION_STORAGE_UNAVAILABLE, "Protection Storage Unavailable" },
	{ KMIP_REASON_PKCS11_CODEC_ERROR, "PKCS#11 Codec Error" },
	{ KMIP_REASON_PKCS11_INVALID_FUNCTION, "PKCS#11 Invalid Function" },
	{ KMIP_REASON_PKCS11_INVALID_INTERFACE, "PKCS#11 Invalid Interface" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

uint32_t
kmip_attr_name_tag(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(attr_names); i++)
		if (strcmp(attr_names[i].name, name) == 0)
			return attr_names[i].tag;
	return 0;
}

const char *
kmip_attr_tag_name(uint32_t tag)
{
	size_t i;

	for (i = 0; i < NELEM(attr_names); i++)
		if (attr_names[i].tag == tag)
			return attr_names[i].name;
	return NULL;
}

static const char *
lookup(const struct name_entry *t, size_t n, uint32_t value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

const char *
kmip_op_name(uint32_t op)
{
	return lookup(op_names, NELEM(op_names), op);
}

const char *
kmip_reason_name(uint32_t reason)
{
	return lookup(reason_names, NELEM(reason_names), reason);
}
