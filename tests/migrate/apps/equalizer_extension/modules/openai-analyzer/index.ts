export { analyzeMessage } from './src/analyzeMessage'
export { analyzeTitle } from './src/analyzeTitle'
export { isKeyValid } from './src/isKeyValid'
