import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { addListAttributes, LIST_ATTRIBUTES_MARK } = require('../../scripts/binding-patch.js') as {
  addListAttributes(packageDir: string): string;
  LIST_ATTRIBUTES_MARK: string;
};

const INSTALLED = path.resolve(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs-node');

describe("setup's addition to tfjs-node's binding (list attributes)", () => {
  const dirs: string[] = [];
  const packageWith = (source: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reslab-binding-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'binding'));
    fs.writeFileSync(path.join(dir, 'binding', 'tfjs_backend.cc'), source);
    return dir;
  };
  const sourceOf = (dir: string) => fs.readFileSync(path.join(dir, 'binding', 'tfjs_backend.cc'), 'utf8');
  after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('the installed binding carries it (setup added it before compiling)', () => {
    const installed = fs.readFileSync(path.join(INSTALLED, 'binding', 'tfjs_backend.cc'), 'utf8');
    assert.equal(installed.split(LIST_ATTRIBUTES_MARK).length - 1, 2, 'one addition for string lists, one for type lists');
    assert.match(installed, /TFE_OpSetAttrStringList\(tfe_op, attr_name/);
    assert.match(installed, /TFE_OpSetAttrTypeList\(tfe_op, attr_name/);
    assert.equal(addListAttributes(packageWith(installed)), 'present');
  });

  it('adds list handling at the top of the string and type cases, once', () => {
    const pristine = [
      '#include <string>',
      'void AssignOpAttr() {',
      '  switch (tf_attr_type) {',
      '    case TF_ATTR_STRING: {',
      '      std::string str_value;',
      '    }',
      '    case TF_ATTR_TYPE: {',
      '      TF_DataType tf_data_type;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    const dir = packageWith(pristine);
    assert.equal(addListAttributes(dir), 'patched');
    const patched = sourceOf(dir);
    assert.match(patched, /#include <string>\n#include <vector>\n/);
    assert.match(
      patched,
      /case TF_ATTR_STRING: \{\n {6}if \(IsArray[^\n]*reslab: list attributes[\s\S]*TFE_OpSetAttrStringList[\s\S]*std::string str_value;/,
    );
    assert.match(
      patched,
      /case TF_ATTR_TYPE: \{\n {6}if \(IsArray[^\n]*reslab: list attributes[\s\S]*TFE_OpSetAttrTypeList[\s\S]*TF_DataType tf_data_type;/,
    );
    assert.equal(addListAttributes(dir), 'present');
    assert.equal(sourceOf(dir), patched);
  });

  it('leaves a source it does not recognise untouched and says why', () => {
    const unknown = '#include <string>\n    case TF_ATTR_STRING: {\n';
    const dir = packageWith(unknown);
    assert.match(addListAttributes(dir), /does not have exactly one "case TF_ATTR_TYPE: \{"/);
    assert.equal(sourceOf(dir), unknown);
    assert.match(addListAttributes(path.join(dir, 'nowhere')), /tfjs_backend\.cc does not exist/);
  });
});
