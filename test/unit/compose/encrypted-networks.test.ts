import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, problemsOf, yaml } from './helpers';

function encrypted(driverOpts: string): boolean | undefined {
  const stack = load(`services:\n  web:\n    image: x\n    networks: [secure]\nnetworks:\n  secure:\n    driver_opts: ${driverOpts}\n`);
  return stack.networks.find((n) => n.key === 'secure')?.spec.encrypted;
}

describe('loadStackText: encrypted networks (driver_opts)', () => {
  it('turns encryption on for the key encrypted with any value, as Docker does', () => {
    for (const v of ['{encrypted: ""}', '{encrypted: "true"}', '{encrypted: }', '{encrypted: 1}', '{encrypted: "false"}', '{"encrypted": ""}']) {
      assert.equal(encrypted(v), true, v);
    }
  });

  it('leaves networks without it plain, the default network too', () => {
    const stack = load(yaml`
      services:
        web:
          image: x
          networks: [a, b]
        api:
          image: x
      networks:
        a:
        b:
          driver_opts: {}
    `);
    assert.deepEqual(stack.networks.map((n) => [n.key, n.spec.encrypted]), [['a', false], ['b', false], ['default', false]]);
  });

  it('ignores Docker\'s other overlay options with a warning', () => {
    const stack = load(yaml`
      services:
        web:
          image: x
      networks:
        default:
          driver_opts:
            encrypted: ""
            com.docker.network.driver.mtu: 1400
    `);
    assert.equal(stack.networks[0]?.spec.encrypted, true);
    assert.deepEqual(stack.warnings, ['Ignoring unsupported network options: driver_opts.com.docker.network.driver.mtu']);
  });

  it('says what is wrong with driver_opts that are not a mapping of scalars', () => {
    const base = 'services:\n  web:\n    image: x\nnetworks:\n  default:\n';
    assert.deepEqual(problemsOf(`${base}    driver_opts: [encrypted]\n`), ['networks.default.driver_opts: must be a mapping of option names to values, got a list (line 6)']);
    assert.deepEqual(problemsOf(`${base}    driver_opts:\n      encrypted: [yes]\n`), ['networks.default.driver_opts.encrypted: must be a string, number, boolean or null, got a list (line 7)']);
  });

  it('refuses driver_opts on an external network, which the stack does not create', () => {
    const text = 'services:\n  web:\n    image: x\n    networks: [shared]\nnetworks:\n  shared:\n    external: true\n    driver_opts: {encrypted: ""}\n';
    assert.deepEqual(problemsOf(text), ['networks.shared.driver_opts: conflicting parameters "external" and "driver_opts" specified (line 8)']);
  });
});
