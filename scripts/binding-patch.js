/*
 * One addition to tfjs-node's C++ binding, applied to its source before setup compiles it: op
 * attributes that are lists of strings or of types (tfjs-node passes only single ones). oneDNN's
 * convolution with fused post-ops (`_MklNativeFusedConv2D`: fused_ops, TArgs) needs them; reslab's
 * inference runs each conv with its batch norm, residual add and ReLU as that one kernel. Without
 * the addition everything still works: NativeOps probes for it and runs separate kernels.
 * Plain Node.js with no dependencies.
 */
'use strict';

const fs = require('fs');
const path = require('path');

const MARK = '// reslab: list attributes';

/** Reads a JavaScript array attribute into a std::vector, element by element. */
const listOf = (vectorDecl, readElement, setter) => `      if (IsArray(env, nstatus, &js_value)) {  ${MARK}
        uint32_t length;
        nstatus = napi_get_array_length(env, js_value, &length);
        ENSURE_NAPI_OK(env, nstatus);
        ${vectorDecl}
        for (uint32_t i = 0; i < length; ++i) {
          napi_value element;
          nstatus = napi_get_element(env, js_value, i, &element);
          ENSURE_NAPI_OK(env, nstatus);
${readElement}
        }
        ${setter}
        break;
      }
`;

const EDITS = [
  {
    anchor: '#include <string>\n',
    insert: '#include <vector>\n',
  },
  {
    anchor: '    case TF_ATTR_STRING: {\n',
    insert: listOf(
      'std::vector<std::string> strings(length);\n        std::vector<const void *> values(length);\n        std::vector<size_t> lengths(length);',
      '          nstatus = GetStringParam(env, element, strings[i]);\n          ENSURE_NAPI_OK(env, nstatus);\n          values[i] = strings[i].data();\n          lengths[i] = strings[i].size();',
      'TFE_OpSetAttrStringList(tfe_op, attr_name, values.data(), lengths.data(), length);',
    ),
  },
  {
    anchor: '    case TF_ATTR_TYPE: {\n',
    insert: listOf(
      'std::vector<TF_DataType> types(length);',
      '          nstatus = napi_get_value_int32(env, element, reinterpret_cast<int32_t *>(&types[i]));\n          ENSURE_NAPI_OK(env, nstatus);',
      'TFE_OpSetAttrTypeList(tfe_op, attr_name, types.data(), length);',
    ),
  },
];

/**
 * Adds list attributes to the binding source of the tfjs-node package in `packageDir`.
 * Returns 'patched' (the source changed: the addon must be compiled again), 'present' (done
 * before), or why it could not (a tfjs-node version whose source differs; nothing is changed).
 */
function addListAttributes(packageDir) {
  const file = path.join(packageDir, 'binding', 'tfjs_backend.cc');
  if (!fs.existsSync(file)) return `${file} does not exist`;
  const source = fs.readFileSync(file, 'utf8');
  if (source.includes(MARK)) return 'present';
  let patched = source;
  for (const { anchor, insert } of EDITS) {
    const at = patched.indexOf(anchor);
    if (at < 0 || patched.indexOf(anchor, at + 1) >= 0) return `${file} does not have exactly one "${anchor.trim()}"`;
    patched = patched.slice(0, at + anchor.length) + insert + patched.slice(at + anchor.length);
  }
  fs.writeFileSync(file, patched);
  return 'patched';
}

module.exports = { addListAttributes, LIST_ATTRIBUTES_MARK: MARK };
