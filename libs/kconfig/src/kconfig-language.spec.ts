import { parseKconfigFile } from './kconfig-language';

const text = [
  'menu "Device Drivers"', // 1
  '\tdepends on HAS_IOMEM', // 2
  '\tvisible if EXPERT', // 3
  '', // 4
  'if PCI', // 5
  '', // 6
  'config FOO', // 7
  '\ttristate "Foo driver" if !COMPILE_TEST', // 8
  '\tdepends on NET && \\', // 9
  '\t\t   (X86 || ARM64) # why: the hardware exists only there', // 10
  '\thelp', // 11
  '\t  config NOT_A_DEFINITION', // 12
  '', // 13
  '\t  depends on NOT_A_DEPENDENCY', // 14
  'config BAR', // 15
  '\tdef_tristate m', // 16
  '', // 17
  'endif # PCI', // 18
  '', // 19
  'choice', // 20
  '\tprompt "Mode"', // 21
  '\tdepends on FOO', // 22
  'config MODE_A', // 23
  '\tbool "A"', // 24
  'endchoice', // 25
  'endmenu', // 26
  'config TOP', // 27
  '\tstring', // 28
  '\tprompt "Top"', // 29
  'source "drivers/net/Kconfig"', // 30
  'rsource "sub/Kconfig"', // 31
  '',
].join('\n');

describe('parseKconfigFile', () => {
  const parsed = parseKconfigFile(text, 'drivers/Kconfig');
  const definition = (symbol: string) => parsed.definitions.find((candidate) => candidate.symbol === symbol);

  it('finds each config entry with its line, type and prompt, and skips help text by indentation', () => {
    expect(parsed.definitions.map(({ symbol, line, type, hasPrompt }) => ({ symbol, line, type, hasPrompt }))).toEqual([
      { symbol: 'FOO', line: 7, type: 'tristate', hasPrompt: true },
      { symbol: 'BAR', line: 15, type: 'tristate', hasPrompt: false },
      { symbol: 'MODE_A', line: 23, type: 'bool', hasPrompt: true },
      { symbol: 'TOP', line: 27, type: 'string', hasPrompt: true },
    ]);
  });

  it('joins continued lines and drops comments from depends on', () => {
    expect(definition('FOO')?.dependsOn).toEqual(['NET && (X86 || ARM64)']);
  });

  it('records the if and menu conditions around an entry, outermost first', () => {
    expect(definition('FOO')?.enclosing).toEqual([
      { expression: 'HAS_IOMEM', file: 'drivers/Kconfig', line: 1 },
      { expression: 'PCI', file: 'drivers/Kconfig', line: 5 },
    ]);
    expect(definition('MODE_A')?.enclosing.map((condition) => condition.expression)).toEqual(['HAS_IOMEM', 'FOO']);
    expect(definition('TOP')?.enclosing).toEqual([]);
  });

  it('records prompt conditions: the prompt`s own if and the menu`s visible if', () => {
    expect(definition('FOO')?.promptConditions).toEqual(['EXPERT', '!COMPILE_TEST']);
  });

  it('marks choice members with their choice', () => {
    expect(definition('MODE_A')?.choice).toEqual({ file: 'drivers/Kconfig', line: 20, prompt: 'Mode' });
    expect(definition('FOO')?.choice).toBeUndefined();
  });

  it('records source statements with the conditions they are under', () => {
    expect(parsed.sources).toEqual([
      { path: 'drivers/net/Kconfig', relativeToFile: false, line: 30, enclosing: [] },
      { path: 'sub/Kconfig', relativeToFile: true, line: 31, enclosing: [] },
    ]);
  });
});
